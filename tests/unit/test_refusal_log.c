/* The run's refusal summary (src/net/refusal_log.c): one entry per
 * destination, the words per cause, the bound on lines and on the exit
 * event's list; and the parsers of the kernel's counters that the
 * --net none summary reads (src/supervisor/net_counters.c). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "net/refusal_log.h"
#include "supervisor/net_counters.h"
#include "probe_child.h"

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

/* The exit event's members, parsed as JSON. */
static json_t *json_of(const struct refusal_log *log)
{
	sbuf b = {0};
	sbuf_add(&b, "{\"event\":\"exit\"");
	refusal_log_json(log, &b);
	sbuf_add(&b, "}");
	json_error_t je;
	json_t *root = json_loads(b.s, 0, &je);
	sbuf_free(&b);
	assert_non_null(root);
	return root;
}

static void test_nothing_refused_says_nothing(void **state)
{
	(void)state;
	struct refusal_log *log = refusal_log_new();
	sbuf b = {0};
	sbuf_add(&b, "");
	refusal_log_lines(log, &b);
	refusal_log_json(log, &b);
	refusal_log_network_off(log, 0);
	refusal_log_lines(log, &b);
	assert_int_equal(b.len, 0);
	assert_int_equal(refusal_log_count(log), 0);
	sbuf_free(&b);
	refusal_log_free(log);
}

static void test_one_line_per_destination_with_cause_and_remedy(void **state)
{
	(void)state;
	struct refusal_log *log = refusal_log_new();
	refusal_log_add(log, "example.com", 443, REFUSED_NO_RULE, NULL);
	refusal_log_add(log, "example.com", 443, REFUSED_NO_RULE, NULL);
	refusal_log_add(log, "example.com", 8443, REFUSED_NO_RULE, NULL);
	refusal_log_add(log, "gist.github.com", 443, REFUSED_DENY_RULE, "gist.github.com");
	refusal_log_add(log, "10.0.0.7", 80, REFUSED_NON_PUBLIC, NULL);
	refusal_log_add(log, "2001:db8::1", 80, REFUSED_NON_PUBLIC, NULL);
	refusal_log_add(log, "pypi.org", 443, REFUSED_DECLINED, NULL);
	refusal_log_add(log, "npmjs.org", 443, REFUSED_TIMEOUT, NULL);
	refusal_log_network_off(log, 2);
	refusal_log_network_off(log, 3);
	assert_int_equal(refusal_log_count(log), 8);
	sbuf b = {0};
	refusal_log_lines(log, &b);
	assert_string_equal(b.s,
		"agentbox: refused example.com:443 (no rule allows it); to allow: --allow-domain example.com\n"
		"agentbox: refused example.com:8443 (no rule allows it); to allow: --allow-domain example.com:8443\n"
		"agentbox: refused gist.github.com:443 (denied by the rule 'gist.github.com'); to allow: remove the deny rule 'gist.github.com' (--deny-domain or the policy file's network.deny)\n"
		"agentbox: refused 10.0.0.7:80 (a non-public address: only a rule naming the host exactly opens it); to allow: --allow-domain 10.0.0.7\n"
		"agentbox: refused [2001:db8::1]:80 (a non-public address: only a rule naming the host exactly opens it); to allow: --allow-domain [2001:db8::1]\n"
		"agentbox: refused pypi.org:443 (the approval was declined); to allow: --allow-domain pypi.org, or allow it when asked\n"
		"agentbox: refused npmjs.org:443 (the approval got no answer in time); to allow: --allow-domain npmjs.org, or answer the question (--approval-timeout)\n"
		"agentbox: refused 5 attempts to reach the outside (connections or DNS lookups): the network is off; to allow: --net proxy --allow-domain HOST, or --net full\n");
	sbuf_free(&b);

	json_t *root = json_of(log);
	json_t *list = json_object_get(root, "refused");
	assert_int_equal(json_array_size(list), 8);
	json_t *first = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(first, "host")), "example.com");
	assert_int_equal(json_integer_value(json_object_get(first, "port")), 443);
	assert_int_equal(json_integer_value(json_object_get(first, "count")), 2);
	assert_string_equal(json_string_value(json_object_get(first, "code")), "not_allowed");
	assert_string_equal(json_string_value(json_object_get(first, "reason")), "no rule allows it");
	assert_string_equal(json_string_value(json_object_get(first, "allow_with")),
			    "--allow-domain example.com");
	json_t *off = json_array_get(list, 7);
	assert_true(json_is_null(json_object_get(off, "host")));
	assert_true(json_is_null(json_object_get(off, "port")));
	assert_string_equal(json_string_value(json_object_get(off, "code")), "network_off");
	assert_int_equal(json_integer_value(json_object_get(off, "count")), 5);
	assert_null(json_object_get(root, "refused_more"));
	json_decref(root);
	refusal_log_free(log);
}

static void test_bounded_lines_and_list(void **state)
{
	(void)state;
	struct refusal_log *log = refusal_log_new();
	for (unsigned i = 0; i < REFUSAL_LOG_SHOWN + 5; i++) {
		char host[32];
		snprintf(host, sizeof(host), "h%u.example", i);
		refusal_log_add(log, host, 443, REFUSED_NO_RULE, NULL);
		refusal_log_add(log, host, 443, REFUSED_NO_RULE, NULL);
	}
	sbuf b = {0};
	refusal_log_lines(log, &b);
	assert_int_equal(count_lines(b.s), REFUSAL_LOG_SHOWN + 1);
	assert_non_null(strstr(b.s, "agentbox: and 5 more refused destinations"));
	assert_null(strstr(b.s, "h20.example"));
	sbuf_free(&b);
	json_t *root = json_of(log);
	assert_int_equal(json_array_size(json_object_get(root, "refused")), REFUSAL_LOG_SHOWN);
	assert_int_equal(json_integer_value(json_object_get(root, "refused_more")), 5);
	json_decref(root);

	/* Past what is remembered, refusals are only counted. */
	for (unsigned i = 0; i < REFUSAL_LOG_KEEP + 10; i++) {
		char host[32];
		snprintf(host, sizeof(host), "m%u.example", i);
		refusal_log_add(log, host, 80, REFUSED_NO_RULE, NULL);
	}
	assert_int_equal(refusal_log_count(log), REFUSAL_LOG_KEEP);
	b = (sbuf){0};
	refusal_log_lines(log, &b);
	assert_int_equal(count_lines(b.s), REFUSAL_LOG_SHOWN + 1);
	assert_non_null(strstr(b.s, "and at least"));
	sbuf_free(&b);
	refusal_log_free(log);
}

/* Long names: the list stops before the exit event outgrows the room
 * the events keep for it, and says how many it left out. */
static void test_json_bounded_in_bytes(void **state)
{
	(void)state;
	struct refusal_log *log = refusal_log_new();
	char host[254];
	for (unsigned i = 0; i < REFUSAL_LOG_SHOWN; i++) {
		memset(host, 'a' + (char)i, 240);
		snprintf(host + 240, sizeof(host) - 240, ".example");
		refusal_log_add(log, host, 443, REFUSED_DENY_RULE, host);
	}
	sbuf b = {0};
	refusal_log_json(log, &b);
	assert_true(b.len < REFUSAL_JSON_MAX + 2048);
	sbuf_free(&b);
	json_t *root = json_of(log);
	size_t shown = json_array_size(json_object_get(root, "refused"));
	assert_true(shown > 0 && shown < REFUSAL_LOG_SHOWN);
	assert_int_equal(json_integer_value(json_object_get(root, "refused_more")),
			 REFUSAL_LOG_SHOWN - shown);
	json_decref(root);
	refusal_log_free(log);
}

static void test_snmp_parsers(void **state)
{
	(void)state;
	const char *snmp =
		"Ip: Forwarding DefaultTTL InReceives OutRequests OutDiscards OutNoRoutes ReasmTimeout\n"
		"Ip: 2 64 10 7 0 3 0\n"
		"Icmp: InMsgs OutNoRoutes\n"
		"Icmp: 99 98\n";
	assert_int_equal(net_counters_parse_snmp(snmp, "OutNoRoutes"), 3);
	assert_int_equal(net_counters_parse_snmp(snmp, "Forwarding"), 2);
	assert_int_equal(net_counters_parse_snmp(snmp, "ReasmTimeout"), 0);
	assert_int_equal(net_counters_parse_snmp(snmp, "NoSuchField"), -1);
	assert_int_equal(net_counters_parse_snmp("Ip: A B\n", "A"), -1);
	const char *snmp6 =
		"Ip6InReceives                   \t5\n"
		"Ip6InNoRoutes                   \t1\n"
		"Ip6OutNoRoutes                  \t4\n";
	assert_int_equal(net_counters_parse_snmp6(snmp6, "Ip6OutNoRoutes"), 4);
	assert_int_equal(net_counters_parse_snmp6(snmp6, "Ip6InNoRoutes"), 1);
	assert_int_equal(net_counters_parse_snmp6(snmp6, "Ip6Out"), -1);
	assert_int_equal(net_counters_parse_snmp6("", "Ip6OutNoRoutes"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_refused_says_nothing),
		cmocka_unit_test(test_one_line_per_destination_with_cause_and_remedy),
		cmocka_unit_test(test_bounded_lines_and_list),
		cmocka_unit_test(test_json_bounded_in_bytes),
		cmocka_unit_test(test_snmp_parsers),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
