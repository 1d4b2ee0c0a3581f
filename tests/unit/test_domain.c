/* Domain patterns, host normalisation, rule verdicts, and which addresses
 * count as public (src/policy/domain.c, src/net/addr_class.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/addr_class.h"
#include "policy/domain.h"
#include "probe_child.h"

static struct domain_pattern parse_ok(const char *text, bool allow)
{
	struct domain_pattern p;
	ab_error err = {0};
	if (domain_pattern_parse(text, allow, &p, &err) < 0)
		fail_msg("'%s' refused: %s", text, err.message);
	return p;
}

static void assert_refused(const char *text, bool allow, const char *want)
{
	struct domain_pattern p;
	ab_error err = {0};
	if (domain_pattern_parse(text, allow, &p, &err) == 0)
		fail_msg("'%s' accepted as host '%s'", text, p.host);
	if (!strstr(err.message, want))
		fail_msg("'%s': message \"%s\" lacks \"%s\"", text, err.message, want);
	/* Every refusal quotes what was written. */
	if (*text && !strstr(err.message, text))
		fail_msg("'%s': message \"%s\" does not quote the pattern", text, err.message);
}

static bool matches(const char *pattern, const char *host, unsigned port)
{
	struct domain_pattern p = parse_ok(pattern, true);
	char norm[DOMAIN_HOST_MAX];
	assert_int_equal(domain_normalize_host(host, norm), 0);
	bool m = domain_pattern_matches(&p, norm, port);
	domain_pattern_free(&p);
	return m;
}

static void test_exact_pattern_matches_only_that_host(void **state)
{
	assert_true(matches("example.com", "example.com", 443));
	assert_false(matches("example.com", "www.example.com", 443));
	assert_false(matches("example.com", "badexample.com", 443));
	assert_false(matches("example.com", "example.com.evil.net", 443));
}

static void test_single_star_means_subdomains_without_apex(void **state)
{
	assert_true(matches("*.example.com", "www.example.com", 80));
	assert_true(matches("*.example.com", "a.b.example.com", 80));
	assert_false(matches("*.example.com", "example.com", 80));
	assert_false(matches("*.example.com", "badexample.com", 80));
}

static void test_double_star_means_apex_and_subdomains(void **state)
{
	assert_true(matches("**.example.com", "example.com", 80));
	assert_true(matches("**.example.com", "deep.sub.example.com", 80));
	assert_false(matches("**.example.com", "notexample.com", 80));
}

static void test_matching_ignores_case_and_trailing_dots(void **state)
{
	assert_true(matches("Example.COM", "EXAMPLE.com.", 443));
	assert_true(matches("example.com.", "example.com", 443));
	assert_true(matches("*.Example.Com", "API.example.com", 443));
}

static void test_ports_and_port_ranges_limit_a_rule(void **state)
{
	assert_true(matches("example.com:443", "example.com", 443));
	assert_false(matches("example.com:443", "example.com", 80));
	assert_true(matches("example.com:8000-8100", "example.com", 8000));
	assert_true(matches("example.com:8000-8100", "example.com", 8100));
	assert_false(matches("example.com:8000-8100", "example.com", 8101));
	assert_true(matches("example.com", "example.com", 1));
	assert_true(matches("example.com", "example.com", 65535));
	struct domain_pattern p = parse_ok("**.example.com:22", true);
	assert_int_equal(p.kind, DOMAIN_APEX_AND_SUB);
	assert_int_equal(p.port_lo, 22);
	assert_int_equal(p.port_hi, 22);
	domain_pattern_free(&p);
}

static void test_ipv6_literals_need_brackets_and_compare_canonically(void **state)
{
	struct domain_pattern p = parse_ok("[2001:DB8:0:0::1]:443", true);
	assert_true(p.is_ip);
	assert_string_equal(p.host, "2001:db8::1");
	assert_int_equal(p.port_lo, 443);
	domain_pattern_free(&p);
	assert_true(matches("[2001:db8::1]", "[2001:0db8::0:1]", 80));
	assert_true(matches("[::1]", "::1", 80));
	assert_refused("2001:db8::1", true, "brackets");
	assert_refused("[2001:db8::1", true, "without ']'");
	assert_refused("[not-an-ip]", true, "not a host name or IP address");
	assert_refused("[::1]x", true, "unexpected");
}

static void test_ipv4_literals_in_any_spelling_normalise_alike(void **state)
{
	char out[DOMAIN_HOST_MAX];
	assert_int_equal(domain_normalize_host("127.1", out), 0);
	assert_string_equal(out, "127.0.0.1");
	assert_int_equal(domain_normalize_host("0x7f.0.0.1", out), 0);
	assert_string_equal(out, "127.0.0.1");
	assert_int_equal(domain_normalize_host("2130706433", out), 0);
	assert_string_equal(out, "127.0.0.1");
	assert_true(matches("127.0.0.1", "127.1", 80));
	assert_int_equal(domain_normalize_host("[::ffff:1.2.3.4]", out), 0);
	assert_string_equal(out, "::ffff:1.2.3.4");
}

static void test_scoped_ipv6_keeps_its_zone(void **state)
{
	char out[DOMAIN_HOST_MAX];
	assert_int_equal(domain_normalize_host("[FE80::1%eth0]", out), 0);
	assert_string_equal(out, "fe80::1%eth0");
	assert_false(matches("[fe80::1%eth0]", "[fe80::1%eth1]", 80));
	assert_true(matches("[fe80::1%eth0]", "[fe80::1%eth0]", 80));
	assert_int_equal(domain_normalize_host("[fe80::1%]", out), -EINVAL);
	assert_int_equal(domain_normalize_host("[fe80::1%a b]", out), -EINVAL);
}

static void test_invalid_patterns_are_refused_with_the_offending_text(void **state)
{
	assert_refused("", true, "empty");
	assert_refused("*", false, "--net none");
	assert_refused("exa*mple.com", true, "leading '*.'");
	assert_refused("*example.com", true, "leading '*.'");
	assert_refused("***.example.com", true, "leading '*.'");
	assert_refused("a.*.example.com", true, "leading '*.'");
	assert_refused("*.1.2.3.4", true, "not to IP addresses");
	assert_refused("example.com:0", true, "not a port");
	assert_refused("example.com:65536", true, "not a port");
	assert_refused("example.com:http", true, "not a port");
	assert_refused("example.com:", true, "not a port");
	assert_refused("example.com:90-80", true, "runs backwards");
	assert_refused("example.com:80-", true, "not a port");
	assert_refused("exa mple.com", true, "not a host name");
	assert_refused("example..com", true, "not a host name");
	assert_refused(".example.com", true, "not a host name");
	assert_refused("http://example.com", true, "");
	char label[80];
	memset(label, 'a', 64);
	snprintf(label + 64, sizeof(label) - 64, ".com");
	assert_refused(label, true, "not a host name");
}

static void test_global_wildcard_only_in_allow_lists(void **state)
{
	struct domain_pattern p = parse_ok("*", true);
	assert_int_equal(p.kind, DOMAIN_ANY);
	assert_true(domain_pattern_matches(&p, "anything.example", 1));
	assert_true(domain_pattern_matches(&p, "192.0.2.1", 1));
	domain_pattern_free(&p);
}

static void test_underscores_and_digits_are_host_characters(void **state)
{
	assert_true(matches("_service._tcp.example.com", "_service._tcp.example.com", 80));
	assert_true(matches("**.1password.com", "my.1password.com", 443));
}

static void test_deny_wins_over_allow(void **state)
{
	struct domain_rules r = {0};
	ab_error err = {0};
	assert_int_equal(domain_rules_add(&r, "**.example.com", true, &err), 0);
	assert_int_equal(domain_rules_add(&r, "secret.example.com", false, &err), 0);
	const struct domain_pattern *rule;
	assert_int_equal(domain_rules_check(&r, "secret.example.com", 443, &rule), DOMAIN_DENIED);
	assert_string_equal(rule->text, "secret.example.com");
	assert_int_equal(domain_rules_check(&r, "www.example.com", 443, &rule), DOMAIN_ALLOWED);
	assert_string_equal(rule->text, "**.example.com");
	assert_int_equal(domain_rules_check(&r, "example.org", 443, &rule), DOMAIN_UNMATCHED);
	assert_null(rule);
	domain_rules_free(&r);
}

static void test_deny_on_one_port_leaves_other_ports_to_allow(void **state)
{
	struct domain_rules r = {0};
	ab_error err = {0};
	assert_int_equal(domain_rules_add(&r, "example.com", true, &err), 0);
	assert_int_equal(domain_rules_add(&r, "example.com:80", false, &err), 0);
	assert_int_equal(domain_rules_check(&r, "example.com", 80, NULL), DOMAIN_DENIED);
	assert_int_equal(domain_rules_check(&r, "example.com", 443, NULL), DOMAIN_ALLOWED);
	domain_rules_free(&r);
}

static void test_exact_allow_is_what_opens_a_non_public_host(void **state)
{
	struct domain_rules r = {0};
	ab_error err = {0};
	assert_int_equal(domain_rules_add(&r, "*", true, &err), 0);
	assert_int_equal(domain_rules_add(&r, "**.corp.example", true, &err), 0);
	assert_null(domain_rules_allowed_exactly(&r, "127.0.0.1", 80));
	assert_null(domain_rules_allowed_exactly(&r, "git.corp.example", 80));
	assert_int_equal(domain_rules_add(&r, "127.0.0.1:8080", true, &err), 0);
	assert_non_null(domain_rules_allowed_exactly(&r, "127.0.0.1", 8080));
	assert_null(domain_rules_allowed_exactly(&r, "127.0.0.1", 8081));
	domain_rules_free(&r);
}

static void test_bad_rule_leaves_the_list_unchanged(void **state)
{
	struct domain_rules r = {0};
	ab_error err = {0};
	assert_int_equal(domain_rules_add(&r, "bad pattern", true, &err), -EINVAL);
	assert_int_equal(r.n_allow, 0);
	assert_non_null(strstr(err.message, "bad pattern"));
	domain_rules_free(&r);
}

/* ---- address classes ---------------------------------------------------- */

static const char *v4_class(const char *text)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, text, &a), 1);
	return addr_non_public_v4(&a);
}

static const char *v6_class(const char *text)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
	assert_int_equal(inet_pton(AF_INET6, text, &sa.sin6_addr), 1);
	return addr_non_public_class((const struct sockaddr *)&sa);
}

static void assert_class(const char *got, const char *want, const char *addr)
{
	if (!want && got)
		fail_msg("%s: class %s, want public", addr, got);
	if (want && (!got || strcmp(got, want) != 0))
		fail_msg("%s: class %s, want %s", addr, got ? got : "public", want);
}

#define V4C(addr, want) assert_class(v4_class(addr), want, addr)
#define V6C(addr, want) assert_class(v6_class(addr), want, addr)

static void test_ipv4_special_ranges_are_not_public(void **state)
{
	V4C("127.0.0.1", "loopback");
	V4C("127.255.255.254", "loopback");
	V4C("10.1.2.3", "private");
	V4C("172.16.0.1", "private");
	V4C("172.31.255.255", "private");
	V4C("192.168.1.1", "private");
	V4C("169.254.169.254", "link-local"); /* cloud metadata */
	V4C("100.64.0.1", "cgnat");
	V4C("100.127.255.255", "cgnat");
	V4C("0.0.0.0", "unspecified");
	V4C("192.0.2.10", "documentation");
	V4C("198.51.100.1", "documentation");
	V4C("203.0.113.9", "documentation");
	V4C("198.18.0.1", "benchmarking");
	V4C("198.19.255.255", "benchmarking");
	V4C("224.0.0.1", "multicast");
	V4C("255.255.255.255", "reserved");
	V4C("240.0.0.1", "reserved");
}

static void test_ipv4_neighbours_of_special_ranges_are_public(void **state)
{
	V4C("8.8.8.8", NULL);
	V4C("172.15.255.255", NULL);
	V4C("172.32.0.0", NULL);
	V4C("100.63.255.255", NULL);
	V4C("100.128.0.0", NULL);
	V4C("198.17.255.255", NULL);
	V4C("198.20.0.0", NULL);
	V4C("11.0.0.1", NULL);
	V4C("223.255.255.255", NULL);
}

static void test_ipv6_special_ranges_are_not_public(void **state)
{
	V6C("::1", "loopback");
	V6C("::", "unspecified");
	V6C("fc00::1", "private");
	V6C("fd12:3456::1", "private");
	V6C("fe80::1", "link-local");
	V6C("febf::1", "link-local");
	V6C("ff02::1", "multicast");
	V6C("2001:db8::5", "documentation");
	V6C("2001::1", "teredo");
	V6C("100::1", "discard");
}

static void test_ipv6_wrapping_ipv4_is_judged_by_the_ipv4_inside(void **state)
{
	V6C("::ffff:127.0.0.1", "loopback");
	V6C("::ffff:10.0.0.1", "private");
	V6C("::ffff:8.8.8.8", NULL);
	V6C("64:ff9b::169.254.169.254", "link-local");
	V6C("64:ff9b::8.8.4.4", NULL);
	V6C("2002:c0a8:0101::1", "private"); /* 6to4 of 192.168.1.1 */
	V6C("2002:0808:0808::1", NULL);
}

static void test_global_ipv6_is_public(void **state)
{
	V6C("2606:4700:4700::1111", NULL);
	V6C("2a00:1450:4001:80b::200e", NULL);
}

static void test_non_ip_families_are_not_public(void **state)
{
	struct sockaddr sa = {.sa_family = AF_UNIX};
	assert_string_equal(addr_non_public_class(&sa), "not-ip");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_pattern_matches_only_that_host),
		cmocka_unit_test(test_single_star_means_subdomains_without_apex),
		cmocka_unit_test(test_double_star_means_apex_and_subdomains),
		cmocka_unit_test(test_matching_ignores_case_and_trailing_dots),
		cmocka_unit_test(test_ports_and_port_ranges_limit_a_rule),
		cmocka_unit_test(test_ipv6_literals_need_brackets_and_compare_canonically),
		cmocka_unit_test(test_ipv4_literals_in_any_spelling_normalise_alike),
		cmocka_unit_test(test_scoped_ipv6_keeps_its_zone),
		cmocka_unit_test(test_invalid_patterns_are_refused_with_the_offending_text),
		cmocka_unit_test(test_global_wildcard_only_in_allow_lists),
		cmocka_unit_test(test_underscores_and_digits_are_host_characters),
		cmocka_unit_test(test_deny_wins_over_allow),
		cmocka_unit_test(test_deny_on_one_port_leaves_other_ports_to_allow),
		cmocka_unit_test(test_exact_allow_is_what_opens_a_non_public_host),
		cmocka_unit_test(test_bad_rule_leaves_the_list_unchanged),
		cmocka_unit_test(test_ipv4_special_ranges_are_not_public),
		cmocka_unit_test(test_ipv4_neighbours_of_special_ranges_are_public),
		cmocka_unit_test(test_ipv6_special_ranges_are_not_public),
		cmocka_unit_test(test_ipv6_wrapping_ipv4_is_judged_by_the_ipv4_inside),
		cmocka_unit_test(test_global_ipv6_is_public),
		cmocka_unit_test(test_non_ip_families_are_not_public),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
