/* test_normalize_project.c — the top level: resource names, external
   resources, the implicit default network, and the keys compose drops. */
#include <stdlib.h>

#include "helpers.h"

static void
test_resource_names (void **state)
{
  th_t t;
  char *exp;
  (void)state;
  assert_int_equal (
      th_load (&t,
               "services:\n  web:\n    image: a\n"
               "volumes:\n  data:\n  named:\n    name: fixed\n"
               "  ext:\n    external: true\n  old:\n    external:\n      name: legacy\n"
               "  dev:\n    driver: local\n    driver_opts: {o: bind, type: none, device: ./d}\n"
               "networks:\n  back:\n    external: true\n    name: real\n"
               "  plain:\n    internal: true\n"
               "secrets:\n  s:\n    file: ./s.txt\n"
               "configs:\n  c:\n    external: true\n"),
      0);
  exp = xasprintf (
      "{\"data\":{\"name\":\"test_data\"},\"dev\":{\"driver\":\"local\",\"driver_opts\":"
      "{\"device\":\"%s/d\",\"o\":\"bind\",\"type\":\"none\"},\"name\":\"test_dev\"},"
      "\"ext\":{\"external\":true,\"name\":\"ext\"},\"named\":{\"name\":\"fixed\"},"
      "\"old\":{\"external\":true,\"name\":\"legacy\"}}",
      t.dir);
  assert_string_equal (th_json (&t, "volumes"), exp);
  free (exp);
  assert_string_equal (th_json (&t, "networks"),
                       "{\"back\":{\"external\":true,\"ipam\":{},\"name\":\"real\"},"
                       "\"default\":{\"ipam\":{},\"name\":\"test_default\"},"
                       "\"plain\":{\"internal\":true,\"ipam\":{},\"name\":\"test_plain\"}}");
  exp = xasprintf ("{\"s\":{\"file\":\"%s/s.txt\",\"name\":\"test_s\"}}", t.dir);
  assert_string_equal (th_json (&t, "secrets"), exp);
  free (exp);
  assert_string_equal (th_json (&t, "configs"), "{\"c\":{\"external\":true,\"name\":\"c\"}}");
  th_free (&t);
}

static void
test_default_network_only_when_used (void **state)
{
  th_t t;
  (void)state;
  assert_int_equal (th_load (&t, "services:\n  web:\n    image: a\n    network_mode: host\n"
                                 "  api:\n    image: a\n    networks: [mine]\n"
                                 "networks:\n  mine:\n"),
                    0);
  assert_string_equal (th_json (&t, "networks"), "{\"mine\":{\"ipam\":{},\"name\":\"test_mine\"}}");
  assert_string_equal (th_json (&t, "services.web.networks"), "<absent>");
  th_free (&t);
}

static void
test_declared_default_network_kept (void **state)
{
  th_t t;
  (void)state;
  assert_int_equal (th_load (&t, "services:\n  web:\n    image: a\n"
                                 "networks:\n  default:\n    driver: bridge\n    name: shared\n"),
                    0);
  assert_string_equal (th_json (&t, "networks"),
                       "{\"default\":{\"driver\":\"bridge\",\"ipam\":{},\"name\":\"shared\"}}");
  th_free (&t);
}

static void
test_dropped_and_kept_top_keys (void **state)
{
  th_t t;
  (void)state;
  assert_int_equal (th_load (&t, "name: ignored-here\nversion: \"3.8\"\n"
                                 "x-top: {a: 1}\nservices: {}\n"),
                    0);
  /* -p wins over name:, version is dropped, empty sections print nothing */
  assert_string_equal (th_json (&t, ""), "{\"name\":\"test\",\"services\":{},\"x-top\":{\"a\":1}}");
  th_free (&t);
}

static void
test_no_services_at_all (void **state)
{
  th_t t;
  (void)state;
  assert_int_equal (th_load (&t, "volumes:\n  v:\n"), 0);
  assert_string_equal (
      th_json (&t, ""),
      "{\"name\":\"test\",\"services\":{},\"volumes\":{\"v\":{\"name\":\"test_v\"}}}");
  th_free (&t);
}

static void
test_bad_section_types (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (
      &t, "services: [web]\nvolumes: 3\n",
      "stack: stack.yml:1:11: services: must be a mapping of services by name, not "
      "a list\n"
      "stack: stack.yml:2:10: volumes: must be a mapping of volumes by name, not the "
      "number 3\n");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_resource_names),
    cmocka_unit_test (test_default_network_only_when_used),
    cmocka_unit_test (test_declared_default_network_kept),
    cmocka_unit_test (test_dropped_and_kept_top_keys),
    cmocka_unit_test (test_no_services_at_all),
    cmocka_unit_test (test_bad_section_types),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
