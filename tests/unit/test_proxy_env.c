/* The proxy variables of --net proxy (src/supervisor/proxy_env.c): what is
 * set, what is taken from the caller, and JAVA_TOOL_OPTIONS appending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "probe_child.h"
#include "supervisor/proxy_env.h"
#include "supervisor/sandbox_proxy.h"

#define OURS "-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=3128 -Dhttps.proxyHost=127.0.0.1" \
	" -Dhttps.proxyPort=3128 -Dhttp.nonProxyHosts=localhost|127.*|[::1]"

static void test_java_options_alone_and_appended(void **state)
{
	(void)state;
	char *s = proxy_env_java_options(NULL);
	assert_string_equal(s, OURS);
	free(s);
	s = proxy_env_java_options("");
	assert_string_equal(s, OURS);
	free(s);
	/* the caller's come first: the JVM lets a later -D win */
	s = proxy_env_java_options("-Xmx1g -Dhttp.proxyHost=corp.example");
	assert_string_equal(s, "-Xmx1g -Dhttp.proxyHost=corp.example " OURS);
	free(s);
}

static const char *find(const strv *env, const char *name)
{
	size_t len = strlen(name);
	const char *found = NULL;
	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], name, len) == 0 && env->v[i][len] == '=') {
			if (found)
				fail_msg("%s is set twice", name);
			found = env->v[i] + len + 1;
		}
	return found;
}

static void test_environ_appends_to_the_callers_java_options(void **state)
{
	(void)state;
	strv env = {0};
	strv_push(&env, "PATH=/bin");
	strv_push(&env, "JAVA_TOOL_OPTIONS=-Xss2m");
	sandbox_proxy_environ(&env);
	assert_string_equal(find(&env, "JAVA_TOOL_OPTIONS"), "-Xss2m " OURS);
	assert_string_equal(find(&env, "PATH"), "/bin");
	strv_free(&env);

	strv none = {0};
	sandbox_proxy_environ(&none);
	assert_string_equal(find(&none, "JAVA_TOOL_OPTIONS"), OURS);
	assert_string_equal(find(&none, "no_proxy"), "localhost,127.0.0.1,::1,[::1]");
	assert_string_equal(find(&none, "npm_config_noproxy"), "localhost,127.0.0.1,::1,[::1]");
	assert_string_equal(find(&none, "RSYNC_PROXY"), "127.0.0.1:3128");
	assert_string_equal(find(&none, "ftp_proxy"), "socks5h://127.0.0.1:1080");
	assert_string_equal(find(&none, "grpc_proxy"), "http://127.0.0.1:3128");
	assert_string_equal(find(&none, "CLOUDSDK_PROXY_PORT"), "3128");
	/* npm has no http-proxy key (it warns), Yarn 2 no noProxy (it fails),
	 * pip's --proxy turns NO_PROXY off */
	assert_null(find(&none, "npm_config_http_proxy"));
	assert_null(find(&none, "YARN_NO_PROXY"));
	assert_null(find(&none, "PIP_PROXY"));
	/* every variable set is one sandbox_proxy_sets takes from the caller,
	 * except JAVA_TOOL_OPTIONS, which is kept and extended */
	for (size_t i = 0; i < none.n; i++)
		if (strncmp(none.v[i], "JAVA_TOOL_OPTIONS=", 18) != 0 && !sandbox_proxy_sets(none.v[i]))
			fail_msg("%s is set but a caller's value would be kept too", none.v[i]);
	strv_free(&none);
}

static void test_sets_names_exactly(void **state)
{
	(void)state;
	assert_true(sandbox_proxy_sets("HTTP_PROXY=x"));
	assert_true(sandbox_proxy_sets("npm_config_http_proxy=x"));
	assert_true(sandbox_proxy_sets("PIP_PROXY="));
	assert_false(sandbox_proxy_sets("HTTP_PROXYX=x"));
	assert_false(sandbox_proxy_sets("HTTP_PROX=x"));
	assert_false(sandbox_proxy_sets("HTTP_PROXY"));
	assert_false(sandbox_proxy_sets("JAVA_TOOL_OPTIONS=-Xmx1g"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_java_options_alone_and_appended),
		cmocka_unit_test(test_environ_appends_to_the_callers_java_options),
		cmocka_unit_test(test_sets_names_exactly),
	};
	return cmocka_run_group_tests(tests, probe_child_group_setup, probe_child_group_teardown);
}
