/* test_merge.c — several -f files layered by Compose's rules. */
#include "helpers.h"

/* Load two files as -f a.yml -f b.yml. */
static int
load2 (th_t *t, const char *a, const char *b)
{
  th_init (t);
  th_write (t, "a.yml", a);
  th_write (t, "b.yml", b);
  t->files[0] = "a.yml";
  t->files[1] = "b.yml";
  t->project_name = "test";
  return th_run (t);
}

static void
test_scalar_replaced (void **state)
{
  th_t t;
  (void) state;
  /* compose-go's cli/testdata/simple pair */
  assert_int_equal (load2 (&t, "services:\n  simple:\n    image: nginx\n",
                           "services:\n  simple:\n    image: haproxy\n"),
                    0);
  assert_string_equal (th_json (&t, "services.simple.image"), "\"haproxy\"");
  th_free (&t);
}

/* docker/compose v1 override-files: three files, the later ones without image. */
static void
test_three_files_override_set (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "docker-compose.yml",
            "version: '2.2'\nservices:\n  web:\n    image: busybox:1.31.0-uclibc\n"
            "    command: [sleep, '200']\n    depends_on:\n        - db\n"
            "  db:\n    image: busybox:1.31.0-uclibc\n    command: [sleep, '200']\n");
  th_write (&t, "docker-compose.override.yml",
            "version: '2.2'\nservices:\n  web:\n    command: [top]\n\n  db:\n    command: [top]\n");
  th_write (&t, "extra.yml",
            "version: '2.2'\nservices:\n  web:\n    depends_on:\n        - db\n        - other\n\n"
            "  other:\n    image: busybox:1.31.0-uclibc\n    command: [top]\n");
  t.files[0] = "docker-compose.yml";
  t.files[1] = "docker-compose.override.yml";
  t.files[2] = "extra.yml";
  t.project_name = "test";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.command"), "[\"top\"]");
  assert_string_equal (th_json (&t, "services.db.command"), "[\"top\"]");
  assert_string_equal (th_json (&t, "services.db.image"), "\"busybox:1.31.0-uclibc\"");
  assert_string_equal (th_json (&t, "services.other.image"), "\"busybox:1.31.0-uclibc\"");
  assert_string_equal (th_json (&t, "services.web.depends_on.db.condition"), "\"service_started\"");
  assert_string_equal (th_json (&t, "services.web.depends_on.other.condition"),
                       "\"service_started\"");
  assert_string_equal (th_json (&t, "services.web.depends_on.other.required"), "true");
  th_free (&t);
}

static void
test_environment_list_and_map (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  web:\n    image: x\n    environment:\n      - A=one\n"
                           "      - B=two\n      - EMPTY=\n      - INHERIT\n",
                           "services:\n  web:\n    environment:\n      B: three\n      C: four\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.environment"),
                       "{\"A\":\"one\",\"B\":\"three\",\"C\":\"four\",\"EMPTY\":\"\","
                       "\"INHERIT\":null}");
  th_free (&t);
}

static void
test_labels_map_over_list (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  web:\n    image: x\n    labels:\n      com.a: one\n"
                           "      com.b: two\n",
                           "services:\n  web:\n    labels: [com.b=zwei, com.c=drei]\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.labels"),
                       "{\"com.a\":\"one\",\"com.b\":\"zwei\",\"com.c\":\"drei\"}");
  th_free (&t);
}

static void
test_argv_and_healthcheck_test_replaced (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  web:\n    image: x\n    entrypoint: [/bin/sh, -c]\n"
                           "    command: [a, b]\n    healthcheck:\n      test: [CMD, a, b]\n"
                           "      interval: 10s\n",
                           "services:\n  web:\n    command: [c]\n    healthcheck:\n"
                           "      test: [CMD, c]\n      retries: 5\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.command"), "[\"c\"]");
  assert_string_equal (th_json (&t, "services.web.entrypoint"), "[\"/bin/sh\",\"-c\"]");
  assert_string_equal (th_json (&t, "services.web.healthcheck.test"), "[\"CMD\",\"c\"]");
  assert_string_equal (th_json (&t, "services.web.healthcheck.interval"), "\"10s\"");
  assert_string_equal (th_json (&t, "services.web.healthcheck.retries"), "5");
  th_free (&t);
}

/* Ports are appended; the same mapping, short or long, is kept once. */
static void
test_ports_unique (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  web:\n    image: x\n    ports:\n      - \"8080:80\"\n"
                           "      - \"127.0.0.1:9090:90/udp\"\n",
                           "services:\n  web:\n    ports:\n      - target: 80\n"
                           "        published: \"8080\"\n      - \"127.0.0.1:9090:90/udp\"\n"
                           "      - \"7070:70\"\n"),
                    0);
  assert_string_not_equal (th_json (&t, "services.web.ports.2"), "<absent>");
  assert_string_equal (th_json (&t, "services.web.ports.3"), "<absent>");
  /* the long form took the place of "8080:80" */
  assert_string_equal (th_json (&t, "services.web.ports.0.published"), "\"8080\"");
  th_free (&t);
}

/* Mounts are keyed by their container path, whatever the syntax. */
static void
test_volumes_by_target (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  web:\n    image: x\n    volumes:\n"
                           "      - data:/var/lib/data\n      - ./conf:/etc/conf:ro\n"
                           "volumes:\n  data: {}\n  other: {}\n",
                           "services:\n  web:\n    volumes:\n      - type: volume\n"
                           "        source: other\n        target: /var/lib/data\n"
                           "      - /cache\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.volumes.0.source"), "\"other\"");
  assert_string_not_equal (th_json (&t, "services.web.volumes.2"), "<absent>");
  assert_string_equal (th_json (&t, "services.web.volumes.3"), "<absent>");
  th_free (&t);
}

static void
test_lists_appended_without_duplicates (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  web:\n    image: x\n    dns: 8.8.8.8\n"
                           "    cap_add: [NET_ADMIN]\n    extra_hosts:\n      h1: 1.2.3.4\n",
                           "services:\n  web:\n    dns: [1.1.1.1, 8.8.8.8]\n"
                           "    cap_add: [SYS_TIME, NET_ADMIN]\n"
                           "    extra_hosts: [\"h2:5.6.7.8\",\"h1=1.2.3.4\"]\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.dns"), "[\"8.8.8.8\",\"1.1.1.1\"]");
  assert_string_equal (th_json (&t, "services.web.cap_add"), "[\"NET_ADMIN\",\"SYS_TIME\"]");
  assert_string_equal (th_json (&t, "services.web.extra_hosts"), "[\"h1=1.2.3.4\",\"h2=5.6.7.8\"]");
  th_free (&t);
}

/* A secret is keyed by where it is mounted. */
static void
test_secrets_by_target (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  web:\n    image: x\n    secrets: [key, cert]\n"
                           "secrets:\n  key: {file: ./k}\n  cert: {file: ./c}\n",
                           "services:\n  web:\n    secrets:\n      - source: cert\n"
                           "        target: /run/secrets/cert\n        uid: \"1000\"\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.secrets.1.uid"), "\"1000\"");
  assert_string_equal (th_json (&t, "services.web.secrets.2"), "<absent>");
  th_free (&t);
}

static void
test_networks_list_and_map (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  web:\n    image: x\n    networks: [front]\n"
                           "networks:\n  front: {}\n  back: {}\n",
                           "services:\n  web:\n    networks:\n      back:\n        aliases: [b]\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.networks.back.aliases"), "[\"b\"]");
  assert_non_null (strstr (th_json (&t, "services.web.networks"), "\"front\""));
  th_free (&t);
}

static void
test_depends_on_condition_kept (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (
      load2 (&t,
             "services:\n  db:\n    image: x\n  web:\n    image: x\n    depends_on:\n"
             "      db:\n        condition: service_healthy\n",
             "services:\n  web:\n    depends_on:\n      db:\n        restart: true\n"),
      0);
  assert_string_equal (th_json (&t, "services.web.depends_on.db.condition"), "\"service_healthy\"");
  assert_string_equal (th_json (&t, "services.web.depends_on.db.restart"), "true");
  th_free (&t);
}

static void
test_logging_driver_change_replaces_options (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  a:\n    image: x\n    logging:\n      driver: json-file\n"
                           "      options: {max-size: 10m, max-file: \"3\"}\n"
                           "  b:\n    image: x\n    logging:\n      driver: json-file\n"
                           "      options: {max-size: 10m}\n",
                           "services:\n  a:\n    logging:\n      driver: syslog\n"
                           "      options: {tag: web}\n"
                           "  b:\n    logging:\n      options: {max-file: \"5\"}\n"),
                    0);
  assert_string_equal (th_json (&t, "services.a.logging"),
                       "{\"driver\":\"syslog\",\"options\":{\"tag\":\"web\"}}");
  assert_string_equal (th_json (&t, "services.b.logging"),
                       "{\"driver\":\"json-file\",\"options\":{\"max-file\":\"5\","
                       "\"max-size\":\"10m\"}}");
  th_free (&t);
}

static void
test_build_string_and_map (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  web:\n    build: ./app\n"
                           "  api:\n    build:\n      context: .\n      args: {U: one}\n",
                           "services:\n  web:\n    build:\n      dockerfile: Dockerfile.dev\n"
                           "  api:\n    build:\n      args: [V=two]\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.build.dockerfile"), "\"Dockerfile.dev\"");
  assert_string_not_equal (th_json (&t, "services.web.build.context"), "<absent>");
  assert_string_equal (th_json (&t, "services.api.build.args"), "{\"U\":\"one\",\"V\":\"two\"}");
  th_free (&t);
}

/* !reset drops what the earlier file set; !override replaces instead of merging. */
static void
test_reset_and_override_tags (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t,
                           "services:\n  web:\n    image: x\n    ports: [\"80:80\"]\n"
                           "    environment: {A: a, B: b}\n    labels: {l: v}\n",
                           "services:\n  web:\n    ports: !reset []\n"
                           "    environment: !override {C: c}\n    labels: {l: !reset null}\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.ports"), "<absent>");
  assert_string_equal (th_json (&t, "services.web.environment"), "{\"C\":\"c\"}");
  assert_string_equal (th_json (&t, "services.web.labels"), "{}");
  th_free (&t);
}

static void
test_top_level_resources_and_extensions (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (
      load2 (&t,
             "name: first\nx-common: {a: one, b: two}\nservices:\n  web:\n    image: x\n"
             "volumes:\n  data:\n    driver: local\n",
             "name: second\nx-common: {b: zwei}\nservices:\n  api:\n    image: y\n"
             "volumes:\n  data:\n    labels: {k: v}\n  logs: {}\n"),
      0);
  assert_string_equal (th_json (&t, "x-common"), "{\"a\":\"one\",\"b\":\"zwei\"}");
  assert_string_equal (th_json (&t, "services.web.image"), "\"x\"");
  assert_string_equal (th_json (&t, "services.api.image"), "\"y\"");
  assert_string_equal (th_json (&t, "volumes.data.driver"), "\"local\"");
  assert_string_equal (th_json (&t, "volumes.data.labels"), "{\"k\":\"v\"}");
  assert_string_equal (th_json (&t, "volumes.logs"), "{\"name\":\"test_logs\"}");
  th_free (&t);
}

/* -p wins, but `name:` of the later file replaces the earlier one. */
static void
test_name_replaced (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "a.yml", "name: first\nservices:\n  web:\n    image: x\n");
  th_write (&t, "b.yml", "name: second\n");
  t.files[0] = "a.yml";
  t.files[1] = "b.yml";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (t.p->name, "second");
  th_free (&t);
}

static void
test_null_keeps_base (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load2 (&t, "services:\n  web:\n    image: x\n    environment: {A: a}\n",
                           "services:\n  web:\n    environment:\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.environment"), "{\"A\":\"a\"}");
  th_free (&t);
}

static void
test_ulimit_replaced_whole (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (
      load2 (&t,
             "services:\n  web:\n    image: x\n    ulimits:\n      nproc: 65535\n"
             "      nofile: {soft: 1024, hard: 2048}\n",
             "services:\n  web:\n    ulimits:\n      nofile: {soft: 4096, hard: 8192}\n"),
      0);
  assert_string_equal (th_json (&t, "services.web.ulimits"),
                       "{\"nofile\":{\"hard\":8192,\"soft\":4096},\"nproc\":65535}");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_scalar_replaced),
    cmocka_unit_test (test_three_files_override_set),
    cmocka_unit_test (test_environment_list_and_map),
    cmocka_unit_test (test_labels_map_over_list),
    cmocka_unit_test (test_argv_and_healthcheck_test_replaced),
    cmocka_unit_test (test_ports_unique),
    cmocka_unit_test (test_volumes_by_target),
    cmocka_unit_test (test_lists_appended_without_duplicates),
    cmocka_unit_test (test_secrets_by_target),
    cmocka_unit_test (test_networks_list_and_map),
    cmocka_unit_test (test_depends_on_condition_kept),
    cmocka_unit_test (test_logging_driver_change_replaces_options),
    cmocka_unit_test (test_build_string_and_map),
    cmocka_unit_test (test_reset_and_override_tags),
    cmocka_unit_test (test_top_level_resources_and_extensions),
    cmocka_unit_test (test_name_replaced),
    cmocka_unit_test (test_null_keeps_base),
    cmocka_unit_test (test_ulimit_replaced_whole),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
