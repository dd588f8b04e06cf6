/* test_normalize.c — the canonical shapes of the service keys, as
   `docker compose config --format json` prints them. */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

/* Load `yaml`, expect success, and compare the JSON at `path`. */
#define assert_json(t, yaml, path, expected)                                                       \
  do                                                                                               \
    {                                                                                              \
      if (th_load ((t), (yaml)) != 0)                                                              \
        fail_msg ("load failed:\n%s", (t)->out);                                                   \
      assert_string_equal (th_json ((t), (path)), (expected));                                     \
    }                                                                                              \
  while (0)

static void
test_minimal_service_defaults (void **state)
{
  th_t t;
  (void)state;
  assert_json (
      &t, "services:\n  web:\n    image: nginx\n", "",
      "{\"name\":\"test\",\"networks\":{\"default\":{\"ipam\":{},\"name\":\"test_default\"}},"
      "\"services\":{\"web\":{\"image\":\"nginx\",\"networks\":{\"default\":null}}}}");
  assert_string_equal (t.out, "");
  th_free (&t);
}

static void
test_build_forms (void **state)
{
  th_t t;
  char *exp;
  (void)state;
  th_load (&t, "services:\n  web:\n    build: ./app\n");
  exp = xasprintf ("{\"context\":\"%s/app\",\"dockerfile\":\"Dockerfile\"}", t.dir);
  assert_string_equal (th_json (&t, "services.web.build"), exp);
  free (exp);
  th_free (&t);

  th_load (&t, "services:\n  web:\n    build:\n      dockerfile: Containerfile\n      target: dev\n"
               "      args: [A=1, B]\n      labels: {x: 1}\n      shm_size: 1g\n"
               "      context: https://github.com/a/b.git\n");
  assert_string_equal (
      th_json (&t, "services.web.build"),
      "{\"args\":{\"A\":\"1\",\"B\":null},\"context\":\"https://github.com/a/b.git\","
      "\"dockerfile\":\"Containerfile\",\"labels\":{\"x\":\"1\"},"
      "\"shm_size\":\"1073741824\",\"target\":\"dev\"}");
  th_free (&t);

  th_load (&t, "services:\n  web:\n    build:\n      dockerfile_inline: FROM alpine\n");
  exp = xasprintf ("{\"context\":\"%s\",\"dockerfile_inline\":\"FROM alpine\"}", t.dir);
  assert_string_equal (th_json (&t, "services.web.build"), exp);
  free (exp);
  th_free (&t);
}

static void
test_command_and_entrypoint (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "services:\n  web:\n    image: a\n    command: sh -c 'echo \"hi there\"'\n"
               "    entrypoint: [\"/bin/tini\", \"--\", 5]\n",
               "services.web.command", "[\"sh\",\"-c\",\"echo \\\"hi there\\\"\"]");
  assert_string_equal (th_json (&t, "services.web.entrypoint"), "[\"/bin/tini\",\"--\",\"5\"]");
  th_free (&t);

  assert_json (&t, "services:\n  web:\n    image: a\n    command: null\n", "services.web.command",
               "<absent>");
  th_free (&t);
}

static void
test_environment_forms (void **state)
{
  th_t t;
  (void)state;
  th_init (&t);
  t.env[0] = "FROM_HOST=h";
  th_write (&t, "stack.yml",
            "services:\n  web:\n    image: a\n    environment:\n      - A=1\n      - B=\n"
            "      - FROM_HOST\n      - UNSET\n      - C=x=y\n");
  t.project_name = "test";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.environment"),
                       "{\"A\":\"1\",\"B\":\"\",\"C\":\"x=y\",\"FROM_HOST\":\"h\",\"UNSET\":null}");
  th_free (&t);

  assert_json (&t,
               "services:\n  web:\n    image: a\n    environment:\n      N: 1.50\n      T: true\n"
               "      E:\n      S: \"yes\"\n",
               "services.web.environment",
               "{\"E\":null,\"N\":\"1.50\",\"S\":\"yes\",\"T\":\"true\"}");
  th_free (&t);
}

static void
test_env_file_merged (void **state)
{
  th_t t;
  (void)state;
  th_init (&t);
  t.project_name = "test";
  th_write (&t, "conf/app.env", "A=from_file\nB=${A}-b\n# comment\n");
  th_write (&t, "raw.env", "R=${NOT_EXPANDED}\n");
  th_write (&t, "stack.yml",
            "services:\n  web:\n    image: a\n    env_file:\n      - conf/app.env\n"
            "      - path: missing.env\n        required: false\n"
            "      - path: raw.env\n        format: raw\n"
            "    environment:\n      A: mine\n");
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.environment"),
                       "{\"A\":\"mine\",\"B\":\"from_file-b\",\"R\":\"${NOT_EXPANDED}\"}");
  assert_string_equal (th_json (&t, "services.web.env_file"), "<absent>");
  th_free (&t);
}

static void
test_env_file_missing (void **state)
{
  th_t t;
  char *exp;
  (void)state;
  assert_int_equal (th_load (&t, "services:\n  web:\n    image: a\n    env_file: nope.env\n"), -1);
  exp = xasprintf ("stack: stack.yml:4:15: services.web.env_file: env file `%s/nope.env` not "
                   "found; create it, fix the path, or mark it `required: false`\n",
                   t.dir);
  assert_string_equal (t.out, exp);
  free (exp);
  th_free (&t);
}

static void
test_label_file_and_labels (void **state)
{
  th_t t;
  (void)state;
  th_init (&t);
  t.project_name = "test";
  th_write (&t, "l.labels", "a=file\nb=file\n");
  th_write (&t, "stack.yml",
            "services:\n  web:\n    image: a\n    label_file: l.labels\n"
            "    labels: [a=mine, c]\n");
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.labels"),
                       "{\"a\":\"mine\",\"b\":\"file\",\"c\":\"\"}");
  th_free (&t);
}

static void
test_ports (void **state)
{
  th_t t;
  (void)state;
  assert_json (
      &t,
      "services:\n  web:\n    image: a\n    ports:\n      - \"127.0.0.1:8080:80\"\n"
      "      - target: 53\n        published: 5353\n        protocol: udp\n"
      "        host_ip: 0.0.0.0\n        name: dns\n        app_protocol: dns\n",
      "services.web.ports",
      "[{\"host_ip\":\"127.0.0.1\",\"mode\":\"ingress\",\"protocol\":\"tcp\",\"published\":"
      "\"8080\",\"target\":80},{\"app_protocol\":\"dns\",\"host_ip\":\"0.0.0.0\",\"mode\":"
      "\"ingress\",\"name\":\"dns\",\"protocol\":\"udp\",\"published\":\"5353\",\"target\":53}]");
  th_free (&t);
}

static void
test_expose (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t, "services:\n  web:\n    image: a\n    expose: [3000, \"8000-8010\", 53/udp]\n",
               "services.web.expose", "[\"3000\",\"8000-8010\",\"53/udp\"]");
  th_free (&t);
}

static void
test_volumes_long_and_short (void **state)
{
  th_t t;
  char *exp;
  (void)state;
  th_load (&t, "services:\n  web:\n    image: a\n    volumes:\n      - data:/data\n"
               "      - type: bind\n        source: ./src\n        target: /app/\n"
               "        read_only: true\n        bind:\n          propagation: rshared\n"
               "      - type: tmpfs\n        target: /run\n        tmpfs:\n          size: 64m\n"
               "          mode: 1777\n"
               "volumes:\n  data:\n");
  exp = xasprintf (
      "[{\"source\":\"data\",\"target\":\"/data\",\"type\":\"volume\",\"volume\":{}},"
      "{\"bind\":{\"create_host_path\":true,\"propagation\":\"rshared\"},\"read_only\":"
      "true,\"source\":\"%s/src\",\"target\":\"/app\",\"type\":\"bind\"},"
      "{\"target\":\"/run\",\"tmpfs\":{\"mode\":1777,\"size\":\"67108864\"},\"type\":"
      "\"tmpfs\"}]",
      t.dir);
  assert_string_equal (t.out, "");
  assert_string_equal (th_json (&t, "services.web.volumes"), exp);
  free (exp);
  th_free (&t);
}

static void
test_depends_on_forms (void **state)
{
  th_t t;
  (void)state;
  assert_json (
      &t,
      "services:\n  web:\n    image: a\n    depends_on: [db]\n"
      "  api:\n    image: a\n    depends_on:\n      db:\n        condition: service_healthy\n"
      "        restart: true\n      web:\n        required: false\n"
      "  db:\n    image: a\n",
      "services.web.depends_on", "{\"db\":{\"condition\":\"service_started\",\"required\":true}}");
  assert_string_equal (
      th_json (&t, "services.api.depends_on"),
      "{\"db\":{\"condition\":\"service_healthy\",\"required\":true,\"restart\":true},"
      "\"web\":{\"condition\":\"service_started\",\"required\":false}}");
  th_free (&t);
}

static void
test_implicit_dependencies (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "services:\n  web:\n    image: a\n    network_mode: service:db\n"
               "    volumes_from: [data:ro]\n    links: [\"cache:c\"]\n"
               "  db:\n    image: a\n  data:\n    image: a\n  cache:\n    image: a\n",
               "services.web.depends_on",
               "{\"cache\":{\"condition\":\"service_started\",\"required\":true,\"restart\":true},"
               "\"data\":{\"condition\":\"service_started\",\"required\":true},"
               "\"db\":{\"condition\":\"service_started\",\"required\":true,\"restart\":true}}");
  assert_string_equal (th_json (&t, "services.web.networks"), "<absent>");
  th_free (&t);
}

static void
test_healthcheck (void **state)
{
  th_t t;
  (void)state;
  assert_json (
      &t,
      "services:\n  web:\n    image: a\n    healthcheck:\n      test: curl -f http://x/\n"
      "      interval: 90s\n      timeout: 2.5s\n      retries: 3\n"
      "      start_period: 1m\n      start_interval: 500ms\n",
      "services.web.healthcheck",
      "{\"interval\":\"1m30s\",\"retries\":3,\"start_interval\":\"500ms\",\"start_period\":"
      "\"1m0s\",\"test\":[\"CMD-SHELL\",\"curl -f http://x/\"],\"timeout\":\"2.5s\"}");
  th_free (&t);

  assert_json (&t, "services:\n  web:\n    image: a\n    healthcheck:\n      disable: true\n",
               "services.web.healthcheck", "{\"disable\":true}");
  th_free (&t);

  assert_json (&t,
               "services:\n  web:\n    image: a\n    healthcheck:\n      test: [CMD, pg_isready]\n",
               "services.web.healthcheck", "{\"test\":[\"CMD\",\"pg_isready\"]}");
  th_free (&t);
}

static void
test_restart_policies (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "services:\n  a:\n    image: x\n    restart: no\n  b:\n    image: x\n"
               "    restart: on-failure:5\n  c:\n    image: x\n    restart: \"\"\n",
               "services.a.restart", "\"no\"");
  assert_string_equal (th_json (&t, "services.b.restart"), "\"on-failure:5\"");
  assert_string_equal (th_json (&t, "services.c.restart"), "<absent>");
  th_free (&t);
}

static void
test_deploy_resources (void **state)
{
  th_t t;
  (void)state;
  assert_json (
      &t,
      "services:\n  web:\n    image: a\n    deploy:\n      replicas: 2\n"
      "      resources:\n        limits:\n          cpus: '0.5'\n          memory: 512M\n"
      "          pids: 100\n        reservations:\n          memory: 64m\n"
      "      restart_policy:\n        condition: on-failure\n        delay: 5s\n"
      "        max_attempts: 3\n        window: 120s\n",
      "services.web.deploy",
      "{\"placement\":{},\"replicas\":2,\"resources\":{\"limits\":{\"cpus\":0.5,\"memory\":"
      "\"536870912\",\"pids\":100},\"reservations\":{\"memory\":\"67108864\"}},"
      "\"restart_policy\":{\"condition\":\"on-failure\",\"delay\":\"5s\",\"max_attempts\":3,"
      "\"window\":\"2m0s\"}}");
  /* replicas is kept in the model (config prints it) but runs one container */
  assert_string_equal (t.out, "stack: warning: stack.yml:5:7: services.web.deploy.replicas: "
                              "ignored: each service runs one container\n");
  th_free (&t);
}

static void
test_deploy_swarm_keys_warned_once (void **state)
{
  th_t t;
  (void)state;
  assert_json (
      &t,
      "services:\n  a:\n    image: x\n    deploy:\n      placement:\n"
      "        constraints: [node.role==manager]\n"
      "  b:\n    image: x\n    deploy:\n      placement:\n        max_replicas_per_node: 1\n",
      "services.b.deploy.placement", "{\"max_replicas_per_node\":1}");
  assert_string_equal (t.out,
                       "stack: warning: stack.yml:5:7: services.a.deploy.placement: ignored: "
                       "placement chooses among swarm nodes; there is one host\n");
  th_free (&t);
}

static void
test_limits_and_sizes (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "services:\n  web:\n    image: a\n    mem_limit: 1g\n    memswap_limit: -1\n"
               "    mem_reservation: 512\n    shm_size: 64M\n    cpus: 1.5\n    cpu_shares: 512\n"
               "    pids_limit: -1\n    mem_swappiness: 10\n    oom_score_adj: -500\n",
               "services.web",
               "{\"cpu_shares\":512,\"cpus\":1.5,\"image\":\"a\",\"mem_limit\":\"1073741824\","
               "\"mem_reservation\":\"512\",\"mem_swappiness\":\"10\",\"memswap_limit\":\"-1\","
               "\"networks\":{\"default\":null},\"oom_score_adj\":-500,\"pids_limit\":-1,"
               "\"shm_size\":\"67108864\"}");
  th_free (&t);
}

static void
test_ulimits (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "services:\n  web:\n    image: a\n    ulimits:\n      nproc: 65535\n"
               "      nofile:\n        soft: 20000\n        hard: 40000\n",
               "services.web.ulimits",
               "{\"nofile\":{\"hard\":40000,\"soft\":20000},\"nproc\":65535}");
  th_free (&t);
}

static void
test_extra_hosts (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "services:\n  web:\n    image: a\n    extra_hosts:\n      - \"zed:10.0.0.2\"\n"
               "      - \"v6=::1\"\n      - \"alpha:[fe80::1]\"\n",
               "services.web.extra_hosts", "[\"alpha=fe80::1\",\"v6=::1\",\"zed=10.0.0.2\"]");
  th_free (&t);
  assert_json (&t,
               "services:\n  web:\n    image: a\n    extra_hosts:\n      db: 10.0.0.5\n"
               "      multi: [1.1.1.1, 2.2.2.2]\n",
               "services.web.extra_hosts", "[\"db=10.0.0.5\",\"multi=1.1.1.1\",\"multi=2.2.2.2\"]");
  th_free (&t);
}

static void
test_string_or_list_keys (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "services:\n  web:\n    image: a\n    dns: 8.8.8.8\n    dns_search: [a.example]\n"
               "    tmpfs: /run\n    dns_opt: [use-vc]\n    group_add: [wheel, 1000]\n",
               "services.web",
               "{\"dns\":[\"8.8.8.8\"],\"dns_opt\":[\"use-vc\"],\"dns_search\":[\"a.example\"],"
               "\"group_add\":[\"wheel\",\"1000\"],\"image\":\"a\",\"networks\":{\"default\":null},"
               "\"tmpfs\":[\"/run\"]}");
  th_free (&t);
}

static void
test_service_networks (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "services:\n  web:\n    image: a\n    networks: [front, back]\n"
               "  api:\n    image: a\n    networks:\n      back:\n        aliases: [api.local]\n"
               "        ipv4_address: 10.5.0.5\n        priority: 10\n      front:\n"
               "networks:\n  front:\n  back:\n    driver: bridge\n",
               "services.web.networks", "{\"back\":null,\"front\":null}");
  assert_string_equal (th_json (&t, "services.api.networks"),
                       "{\"back\":{\"aliases\":[\"api.local\"],\"ipv4_address\":\"10.5.0.5\","
                       "\"priority\":10},\"front\":null}");
  assert_string_equal (th_json (&t, "networks"),
                       "{\"back\":{\"driver\":\"bridge\",\"ipam\":{},\"name\":\"test_back\"},"
                       "\"front\":{\"ipam\":{},\"name\":\"test_front\"}}");
  th_free (&t);
}

static void
test_secrets_and_configs_refs (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "services:\n  web:\n    image: a\n    secrets:\n      - token\n"
               "      - source: token\n        target: /etc/token\n        mode: 0400\n"
               "    configs: [conf]\n"
               "secrets:\n  token:\n    environment: TOKEN\n"
               "configs:\n  conf:\n    content: hello\n",
               "services.web.secrets",
               "[{\"source\":\"token\",\"target\":\"/run/secrets/token\"},"
               "{\"mode\":\"0400\",\"source\":\"token\",\"target\":\"/etc/token\"}]");
  assert_string_equal (th_json (&t, "services.web.configs"), "[{\"source\":\"conf\"}]");
  th_free (&t);
}

static void
test_misc_scalars (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "services:\n  web:\n    image: a\n    privileged: yes\n    read_only: false\n"
               "    init: true\n    tty: True\n    stdin_open: on\n    user: 1000:1000\n"
               "    working_dir: /srv\n    hostname: web1\n    stop_signal: SIGINT\n"
               "    stop_grace_period: 1m30s\n    pull_policy: if_not_present\n"
               "    container_name: my-web\n    cap_add: [NET_ADMIN]\n    sysctls: "
               "[net.core.somaxconn=1024]\n"
               "    scale: 2\n    platform: linux/amd64\n"
               "    logging:\n      driver: json-file\n      options:\n        max-size: 10m\n"
               "        max-file: 3\n",
               "services.web",
               "{\"cap_add\":[\"NET_ADMIN\"],\"container_name\":\"my-web\",\"hostname\":\"web1\","
               "\"image\":\"a\",\"init\":true,\"logging\":{\"driver\":\"json-file\",\"options\":{"
               "\"max-file\":\"3\",\"max-size\":\"10m\"}},\"networks\":{\"default\":null},"
               "\"platform\":\"linux/amd64\",\"privileged\":true,"
               "\"pull_policy\":\"missing\",\"read_only\":false,\"scale\":2,\"stdin_open\":true,"
               "\"stop_grace_period\":\"1m30s\",\"stop_signal\":\"SIGINT\",\"sysctls\":{"
               "\"net.core.somaxconn\":\"1024\"},\"tty\":true,\"user\":\"1000:1000\","
               "\"working_dir\":\"/srv\"}");
  th_free (&t);
}

static void
test_profiles_kept (void **state)
{
  th_t t;
  (void)state;
  th_init (&t);
  t.project_name = "test";
  t.profiles[0] = "debug";
  th_write (&t, "stack.yml", "services:\n  web:\n    image: a\n    profiles: [debug, \"x\"]\n");
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.profiles"), "[\"debug\",\"x\"]");
  th_free (&t);
}

static void
test_devices_and_hooks (void **state)
{
  th_t t;
  (void)state;
  assert_json (
      &t,
      "services:\n  web:\n    image: a\n    devices: [/dev/fuse, \"/dev/sda:/dev/xvda:r\"]\n"
      "    post_start:\n      - command: echo hi\n        user: root\n",
      "services.web.devices",
      "[{\"permissions\":\"rwm\",\"source\":\"/dev/fuse\",\"target\":\"/dev/fuse\"},"
      "{\"permissions\":\"r\",\"source\":\"/dev/sda\",\"target\":\"/dev/xvda\"}]");
  assert_string_equal (th_json (&t, "services.web.post_start"),
                       "[{\"command\":[\"echo\",\"hi\"],\"user\":\"root\"}]");
  th_free (&t);
}

static void
test_extensions_kept_typed (void **state)
{
  th_t t;
  (void)state;
  assert_json (&t,
               "x-common: &c\n  n: 1\n  f: 1.5\n  b: true\n  s: \"1\"\n  z: ~\n"
               "services:\n  web:\n    image: a\n    x-note: hello\n",
               "x-common", "{\"b\":true,\"f\":1.5,\"n\":1,\"s\":\"1\",\"z\":null}");
  assert_string_equal (th_json (&t, "services.web.x-note"), "\"hello\"");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_minimal_service_defaults),
    cmocka_unit_test (test_build_forms),
    cmocka_unit_test (test_command_and_entrypoint),
    cmocka_unit_test (test_environment_forms),
    cmocka_unit_test (test_env_file_merged),
    cmocka_unit_test (test_env_file_missing),
    cmocka_unit_test (test_label_file_and_labels),
    cmocka_unit_test (test_ports),
    cmocka_unit_test (test_expose),
    cmocka_unit_test (test_volumes_long_and_short),
    cmocka_unit_test (test_depends_on_forms),
    cmocka_unit_test (test_implicit_dependencies),
    cmocka_unit_test (test_healthcheck),
    cmocka_unit_test (test_restart_policies),
    cmocka_unit_test (test_deploy_resources),
    cmocka_unit_test (test_deploy_swarm_keys_warned_once),
    cmocka_unit_test (test_limits_and_sizes),
    cmocka_unit_test (test_ulimits),
    cmocka_unit_test (test_extra_hosts),
    cmocka_unit_test (test_string_or_list_keys),
    cmocka_unit_test (test_service_networks),
    cmocka_unit_test (test_secrets_and_configs_refs),
    cmocka_unit_test (test_misc_scalars),
    cmocka_unit_test (test_profiles_kept),
    cmocka_unit_test (test_devices_and_hooks),
    cmocka_unit_test (test_extensions_kept_typed),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
