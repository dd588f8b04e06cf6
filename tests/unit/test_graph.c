/* test_graph.c — the dependency graph: edges (explicit and implicit), start
   waves, selection, start order, and cycles named in full at their place. */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

/* "a b c": the names a service depends on, in name order. */
static const char *
deps_of (th_t *t, const char *name)
{
  static char buf[512];
  compose_service_t *s;
  size_t i, n = 0;

  assert_non_null (t->p);
  s = compose_service_find (t->p, name);
  assert_non_null (s);
  buf[0] = '\0';
  for (i = 0; i < s->n_deps; i++)
    n += (size_t) snprintf (buf + n, sizeof buf - n, "%s%s", i ? " " : "",
                            t->p->services[s->deps[i]].name);
  return buf;
}

static size_t
wave_of (th_t *t, const char *name)
{
  compose_service_t *s = compose_service_find (t->p, name);
  assert_non_null (s);
  return s->wave;
}

/* "db cache | api" style: order names, `|` between waves. */
static const char *
order_of (th_t *t, const bool *selected)
{
  static char buf[512];
  size_t *order = calloc (t->p->n_services + 1, sizeof *order);
  size_t n, i, len = 0;

  n = compose_start_order (t->p, selected, order);
  buf[0] = '\0';
  for (i = 0; i < n; i++)
    {
      const compose_service_t *s = &t->p->services[order[i]];
      const char *sep = i == 0 ? "" : s->wave != t->p->services[order[i - 1]].wave ? " | " : " ";
      len += (size_t) snprintf (buf + len, sizeof buf - len, "%s%s", sep, s->name);
    }
  free (order);
  return buf;
}

static const char diamond[] = "services:\n"
                              "  web:\n"
                              "    image: nginx\n"
                              "    depends_on:\n"
                              "      api: {condition: service_started, required: true}\n"
                              "  api:\n"
                              "    image: api\n"
                              "    depends_on:\n"
                              "      db: {condition: service_healthy, required: true}\n"
                              "      cache: {condition: service_started, required: true}\n"
                              "  db:\n"
                              "    image: postgres\n"
                              "  cache:\n"
                              "    image: redis\n"
                              "  worker:\n"
                              "    image: api\n"
                              "    depends_on:\n"
                              "      db: {condition: service_healthy, required: true}\n";

static void
test_waves (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, diamond), 0);
  assert_string_equal (t.out, "");
  assert_string_equal (deps_of (&t, "api"), "cache db");
  assert_string_equal (deps_of (&t, "web"), "api");
  assert_string_equal (deps_of (&t, "db"), "");
  assert_int_equal (wave_of (&t, "cache"), 0);
  assert_int_equal (wave_of (&t, "db"), 0);
  assert_int_equal (wave_of (&t, "api"), 1);
  assert_int_equal (wave_of (&t, "worker"), 1);
  assert_int_equal (wave_of (&t, "web"), 2);
  assert_int_equal (t.p->n_waves, 3);
  assert_string_equal (order_of (&t, NULL), "cache db | api worker | web");
  th_free (&t);
}

static void
test_wave_is_longest_path (void **state)
{
  th_t t;
  (void) state;
  /* c depends on a directly and through b: its wave follows b, not a */
  assert_int_equal (th_load (&t, "services:\n"
                                 "  a: {image: x}\n"
                                 "  b: {image: x, depends_on: {a: {condition: service_started}}}\n"
                                 "  c:\n"
                                 "    image: x\n"
                                 "    depends_on:\n"
                                 "      a: {condition: service_started}\n"
                                 "      b: {condition: service_started}\n"),
                    0);
  assert_int_equal (wave_of (&t, "c"), 2);
  assert_string_equal (order_of (&t, NULL), "a | b | c");
  th_free (&t);
}

static void
test_no_services (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "volumes:\n  data: {}\n"), 0);
  assert_int_equal (t.p->n_services, 0);
  assert_int_equal (t.p->n_waves, 0);
  assert_string_equal (order_of (&t, NULL), "");
  th_free (&t);
}

static void
test_implicit_edges (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "services:\n"
                                 "  db: {image: postgres}\n"
                                 "  data: {image: busybox}\n"
                                 "  logs: {image: busybox}\n"
                                 "  proxy: {image: nginx}\n"
                                 "  sidecar:\n"
                                 "    image: busybox\n"
                                 "    network_mode: service:proxy\n"
                                 "    ipc: service:db\n"
                                 "    pid: host\n"
                                 "    volumes_from: [data:ro, 'container:elsewhere', logs]\n"
                                 "  app:\n"
                                 "    image: app\n"
                                 "    pid: service:sidecar\n"
                                 "    links: ['db:database']\n"),
                    0);
  assert_string_equal (deps_of (&t, "sidecar"), "data db logs proxy");
  assert_string_equal (deps_of (&t, "app"), "db sidecar");
  assert_string_equal (order_of (&t, NULL), "data db logs proxy | sidecar | app");
  th_free (&t);
}

static void
test_same_dependency_twice_is_one_edge (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "services:\n"
                                 "  db: {image: postgres}\n"
                                 "  app:\n"
                                 "    image: app\n"
                                 "    depends_on: {db: {condition: service_started}}\n"
                                 "    network_mode: service:db\n"
                                 "    volumes_from: [db, 'db:rw']\n"),
                    0);
  assert_string_equal (deps_of (&t, "app"), "db");
  th_free (&t);
}

static void
test_missing_dependency_skipped (void **state)
{
  th_t t;
  (void) state;
  /* what profiles removed (required: false) is simply not waited for */
  assert_int_equal (th_load (&t, "services:\n"
                                 "  app:\n"
                                 "    image: app\n"
                                 "    depends_on:\n"
                                 "      gone: {condition: service_started, required: false}\n"),
                    0);
  assert_string_equal (deps_of (&t, "app"), "");
  assert_int_equal (t.p->n_waves, 1);
  th_free (&t);
}

static void
test_cycle_named_in_full (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t,
                     "services:\n"
                     "  beta:\n"
                     "    image: x\n"
                     "    depends_on:\n"
                     "      alpha: {condition: service_started}\n"
                     "  alpha:\n"
                     "    image: x\n"
                     "    depends_on:\n"
                     "      gamma: {condition: service_started}\n"
                     "  gamma:\n"
                     "    image: x\n"
                     "    depends_on:\n"
                     "      beta: {condition: service_started}\n"
                     "  ok:\n"
                     "    image: x\n",
                     "stack: stack.yml:9:7: services.alpha.depends_on: dependency cycle: alpha -> "
                     "gamma -> beta -> alpha; no service in it can start first, remove one of "
                     "these dependencies\n");
  th_free (&t);
}

static void
test_every_cycle_reported (void **state)
{
  th_t t;
  (void) state;
  /* two separate cycles, and a third sharing a service with the first */
  assert_load_error (&t,
                     "services:\n"
                     "  a:\n"
                     "    image: x\n"
                     "    depends_on:\n"
                     "      b: {condition: service_started}\n"
                     "      c: {condition: service_started}\n"
                     "  b: {image: x, depends_on: {a: {condition: service_started}}}\n"
                     "  c: {image: x, depends_on: {a: {condition: service_started}}}\n"
                     "  x: {image: x, depends_on: {y: {condition: service_started}}}\n"
                     "  y: {image: x, depends_on: {x: {condition: service_started}}}\n"
                     "  z: {image: x, depends_on: {x: {condition: service_started}}}\n",
                     "stack: stack.yml:5:7: services.a.depends_on: dependency cycle: a -> b -> a; "
                     "no service in it can start first, remove one of these dependencies\n"
                     "stack: stack.yml:6:7: services.a.depends_on: dependency cycle: a -> c -> a; "
                     "no service in it can start first, remove one of these dependencies\n"
                     "stack: stack.yml:9:30: services.x.depends_on: dependency cycle: x -> y -> "
                     "x; no service in it can start first, remove one of these dependencies\n");
  th_free (&t);
}

static void
test_self_dependency (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t,
                     "services:\n"
                     "  solo:\n"
                     "    image: x\n"
                     "    depends_on:\n"
                     "      solo: {condition: service_started}\n",
                     "stack: stack.yml:5:7: services.solo.depends_on: dependency cycle: solo -> "
                     "solo; no service in it can start first, remove one of these dependencies\n");
  th_free (&t);
}

static void
test_cycle_through_implicit_edge (void **state)
{
  th_t t;
  (void) state;
  /* named from `app`, at the place app depends on db */
  assert_load_error (&t,
                     "services:\n"
                     "  db:\n"
                     "    image: x\n"
                     "    volumes_from: [app]\n"
                     "  app:\n"
                     "    image: x\n"
                     "    depends_on:\n"
                     "      db: {condition: service_started}\n",
                     "stack: stack.yml:8:7: services.app.depends_on: dependency cycle: app -> db "
                     "-> app; no service in it can start first, remove one of these "
                     "dependencies\n");
  th_free (&t);
}

static void
test_select (void **state)
{
  th_t t;
  bool sel[8];
  stack_error_t *err = NULL;
  const char *web[] = { "web" };
  const char *two[] = { "worker", "cache" };
  (void) state;
  assert_int_equal (th_load (&t, diamond), 0);
  assert_int_equal (t.p->n_services, 5);

  assert_int_equal (compose_select (t.p, web, 1, sel, &err), 0);
  assert_null (err);
  assert_string_equal (order_of (&t, sel), "cache db | api | web");
  /* the stop order is the reverse: web first */

  assert_int_equal (compose_select (t.p, two, 2, sel, &err), 0);
  assert_string_equal (order_of (&t, sel), "cache db | worker");
  th_free (&t);
}

static void
test_select_unknown (void **state)
{
  th_t t;
  bool sel[8];
  stack_error_t *err = NULL;
  const char *names[] = { "web", "nope", "neither" };
  (void) state;
  assert_int_equal (th_load (&t, diamond), 0);
  assert_int_equal (compose_select (t.p, names, 3, sel, &err), -1);
  assert_non_null (err);
  assert_string_equal (err->msg, "no such service: nope, neither");
  stack_error_free (&err);
  th_free (&t);
}

/* 10,000 services in one chain: s00000 <- s00001 <- ... (each depends on the
   one before). With `back`, s00000 also depends on the last one. */
static char *
chain_yaml (size_t n, bool back)
{
  strbuf_t b = { 0 };
  size_t i;
  sb_puts (&b, "services:\n");
  for (i = 0; i < n; i++)
    {
      sb_printf (&b, "  s%05zu:\n    image: x\n", i);
      if (i > 0)
        sb_printf (&b, "    depends_on: {s%05zu: {condition: service_started}}\n", i - 1);
      else if (back)
        sb_printf (&b, "    depends_on: {s%05zu: {condition: service_started}}\n", n - 1);
    }
  return sb_steal (&b);
}

static void
test_long_chain (void **state)
{
  th_t t;
  char *yaml = chain_yaml (10000, false);
  size_t *order;
  (void) state;
  assert_int_equal (th_load (&t, yaml), 0);
  assert_int_equal (t.p->n_waves, 10000);
  assert_int_equal (wave_of (&t, "s09999"), 9999);
  order = calloc (10000, sizeof *order);
  assert_int_equal (compose_start_order (t.p, NULL, order), 10000);
  assert_string_equal (t.p->services[order[0]].name, "s00000");
  assert_string_equal (t.p->services[order[9999]].name, "s09999");
  free (order);
  free (yaml);
  th_free (&t);
}

static void
test_long_cycle (void **state)
{
  th_t t;
  char *yaml = chain_yaml (10000, true);
  (void) state;
  assert_int_equal (th_load (&t, yaml), -1);
  /* one message, the whole ring in order */
  assert_non_null (strstr (t.out, "stack: stack.yml:4:18: services.s00000.depends_on: dependency "
                                  "cycle: s00000 -> s09999 -> s09998 -> "));
  assert_non_null (strstr (t.out, " -> s00001 -> s00000; no service in it"));
  assert_null (strchr (strchr (t.out, '\n') + 1, '\n'));
  free (yaml);
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_waves),
    cmocka_unit_test (test_wave_is_longest_path),
    cmocka_unit_test (test_no_services),
    cmocka_unit_test (test_implicit_edges),
    cmocka_unit_test (test_same_dependency_twice_is_one_edge),
    cmocka_unit_test (test_missing_dependency_skipped),
    cmocka_unit_test (test_cycle_named_in_full),
    cmocka_unit_test (test_every_cycle_reported),
    cmocka_unit_test (test_self_dependency),
    cmocka_unit_test (test_cycle_through_implicit_edge),
    cmocka_unit_test (test_select),
    cmocka_unit_test (test_select_unknown),
    cmocka_unit_test (test_long_chain),
    cmocka_unit_test (test_long_cycle),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
