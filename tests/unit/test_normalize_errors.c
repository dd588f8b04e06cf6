/* test_normalize_errors.c — bad input to normalization: the exact words
   and positions, and that every error of a file is reported in one run. */
#include "helpers.h"

static void
test_wrong_type_and_unknown_keys (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (&t,
                     "services:\n  web:\n    image: a\n    privileged: [x]\n    imgae: b\n"
                     "    foo: 1\n    x-mine: ok\n",
                     "stack: stack.yml:4:17: services.web.privileged: must be a boolean (true or "
                     "false), not a list\n"
                     "stack: stack.yml:5:5: services.web.imgae: unknown key in a service; did you "
                     "mean `image`?\n"
                     "stack: stack.yml:6:5: services.web.foo: unknown key in a service (not in the "
                     "compose specification; name your own keys x-*)\n");
  th_free (&t);
}

static void
test_unknown_top_level_key (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (&t, "servics:\n  web:\n    image: a\n",
                     "stack: stack.yml:1:1: servics: unknown key in the top level; did you mean "
                     "`services`?\n");
  th_free (&t);
  assert_load_error (&t, "services: {}\nstuff: 1\n",
                     "stack: stack.yml:2:1: stuff: unknown key in the top level; expected one of: "
                     "name, services, networks, volumes, secrets, configs, include, models, "
                     "version, x-*\n");
  th_free (&t);
}

static void
test_needs_image_or_build (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (&t, "services:\n  web:\n    command: top\n",
                     "stack: stack.yml:2:3: services.web: needs `image` or `build`\n");
  th_free (&t);
  assert_load_error (&t, "services:\n  web: nginx\n",
                     "stack: stack.yml:2:8: services.web: must be a mapping of the service's keys "
                     "(image:, ports:, ...), not \"nginx\"\n");
  th_free (&t);
}

static void
test_bad_scalars (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (
      &t,
      "services:\n  web:\n    image: a\n    mem_limit: lots\n"
      "    stop_grace_period: soon\n    cpus: many\n    restart: sometimes\n"
      "    ports: [\"80800:80\"]\n    pids_limit: -2\n",
      "stack: stack.yml:4:16: services.web.mem_limit: `lots` is not a size; write a "
      "number of bytes or one with a unit, such as 512m or 1g (units b, k, m, g)\n"
      "stack: stack.yml:5:24: services.web.stop_grace_period: `soon` is not a "
      "duration; write a number with a unit, such as 30s, 1m30s or 500ms (units "
      "ns, us, ms, s, m, h)\n"
      "stack: stack.yml:6:11: services.web.cpus: must be a number, not \"many\"\n"
      "stack: stack.yml:7:14: services.web.restart: `sometimes` is not a restart "
      "policy; use no, always, on-failure, on-failure:N (at most N restarts) or "
      "unless-stopped\n"
      "stack: stack.yml:8:13: services.web.ports[0]: \"80800:80\": host port must be "
      "1-65535\n"
      "stack: stack.yml:9:17: services.web.pids_limit: -2 is out of range: must be -1 "
      "or more\n");
  th_free (&t);
}

static void
test_string_fields_refuse_booleans (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (&t, "services:\n  web:\n    image: true\n    restart: false\n",
                     "stack: stack.yml:3:12: services.web.image: must be a string, not the boolean "
                     "true; quote it: \"true\"\n"
                     "stack: stack.yml:4:14: services.web.restart: must be a string, not the "
                     "boolean false; write restart: \"no\" (quoted) to never restart\n");
  th_free (&t);
}

static void
test_depends_on_and_healthcheck (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (
      &t,
      "services:\n  web:\n    image: a\n    depends_on:\n      db:\n"
      "        condition: service_ready\n    healthcheck:\n      test: [RUN, x]\n"
      "      interval: 5\n  db:\n    image: a\n",
      "stack: stack.yml:6:20: services.web.depends_on.db.condition: `service_ready` "
      "is not one of: service_started, service_healthy, "
      "service_completed_successfully\n"
      "stack: stack.yml:8:14: services.web.healthcheck.test[0]: a test list starts "
      "with CMD (run a program), CMD-SHELL (run a shell command) or NONE, not `RUN`; "
      "for example [\"CMD\", \"RUN\", ...]\n"
      "stack: stack.yml:9:17: services.web.healthcheck.interval: `5` is not a "
      "duration; write a number with a unit, such as 30s, 1m30s or 500ms (units ns, "
      "us, ms, s, m, h)\n");
  th_free (&t);
  assert_load_error (&t,
                     "services:\n  web:\n    image: a\n    healthcheck:\n      disable: true\n"
                     "      test: [CMD, x]\n",
                     "stack: stack.yml:6:7: services.web.healthcheck.test: cannot be used with "
                     "`disable: true`; remove one of them\n");
  th_free (&t);
}

static void
test_undefined_references (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (&t,
                     "services:\n  web:\n    image: a\n    depends_on: [dbb]\n"
                     "    links: [cache]\n    volumes_from: [nope]\n    ipc: service:other\n"
                     "  api:\n    image: a\n    network_mode: service:dbb\n  db:\n    image: a\n",
                     "stack: stack.yml:4:18: services.web.depends_on: `dbb` is not a service of "
                     "this stack; did you mean `db`?\n"
                     "stack: stack.yml:5:13: services.web.links[0]: `cache` is not a service of "
                     "this stack\n"
                     "stack: stack.yml:6:20: services.web.volumes_from[0]: `nope` is not a service "
                     "of this stack\n"
                     "stack: stack.yml:7:10: services.web.ipc: `other` is not a service of this "
                     "stack\n"
                     "stack: stack.yml:10:19: services.api.network_mode: `dbb` is not a service of "
                     "this stack; did you mean `db`?\n");
  th_free (&t);
}

static void
test_optional_dependency_may_be_missing (void **state)
{
  th_t t;
  (void)state;
  assert_int_equal (th_load (&t, "services:\n  web:\n    image: a\n    depends_on:\n"
                                 "      gone:\n        required: false\n"),
                    0);
  th_free (&t);
}

static void
test_undeclared_resources (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (&t,
                     "services:\n  web:\n    image: a\n    volumes: [data:/d]\n"
                     "    networks: [front]\n    secrets: [s]\n    configs: [c]\n",
                     "stack: stack.yml:4:15: services.web.volumes[0]: named volume `data` is not "
                     "declared; add `data:` under the top-level `volumes:` (or write ./NAME to "
                     "mount a folder of the host)\n"
                     "stack: stack.yml:5:16: services.web.networks.front: network `front` is not "
                     "declared; add `front:` under the top-level `networks:`\n"
                     "stack: stack.yml:6:15: services.web.secrets[0]: secret `s` is not declared; "
                     "add `s:` under the top-level `secrets:`\n"
                     "stack: stack.yml:7:15: services.web.configs[0]: config `c` is not declared; "
                     "add `c:` under the top-level `configs:`\n");
  th_free (&t);
}

static void
test_bad_mounts (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (&t,
                     "services:\n  web:\n    image: a\n    volumes:\n"
                     "      - {type: bind, target: /x}\n"
                     "      - {type: tmpfs, source: a, target: /t}\n"
                     "      - {type: volume, target: rel}\n"
                     "      - {type: volume, target: /v, bind: {propagation: shared}}\n"
                     "      - {type: disk, target: /d}\n"
                     "      - {target: /d}\n",
                     "stack: stack.yml:5:9: services.web.volumes[0]: a bind mount needs `source`: "
                     "the path on the host\n"
                     "stack: stack.yml:6:31: services.web.volumes[1].source: a tmpfs mount has no "
                     "source; remove it\n"
                     "stack: stack.yml:7:32: services.web.volumes[2].target: `rel` must be an "
                     "absolute path inside the container (starting with /)\n"
                     "stack: stack.yml:8:36: services.web.volumes[3].bind: `bind` options need "
                     "type: bind (this mount is type: volume)\n"
                     "stack: stack.yml:9:16: services.web.volumes[4].type: `disk` is not one of: "
                     "bind, volume, tmpfs, npipe, image, cluster\n"
                     "stack: stack.yml:10:9: services.web.volumes[5]: needs `type`: bind, volume, "
                     "tmpfs or image\n");
  th_free (&t);
}

static void
test_network_mode_and_networks (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (&t,
                     "services:\n  web:\n    image: a\n    network_mode: host\n    networks: [x]\n"
                     "networks:\n  x:\n",
                     "stack: stack.yml:5:5: services.web.networks: cannot be used with "
                     "`network_mode`: a service either joins networks or shares a network mode; "
                     "remove one of them\n");
  th_free (&t);
  assert_load_error (&t, "services:\n  web:\n    image: a\n    network_mode: mynet\n",
                     "stack: stack.yml:4:19: services.web.network_mode: `mynet` is not valid here; "
                     "use none, host, bridge, default, service:NAME or container:NAME\n");
  th_free (&t);
}

static void
test_service_level_checks (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (
      &t,
      "services:\n  \"bad name\":\n    image: a\n  web:\n    image: a\n"
      "    ulimits:\n      nofile: {soft: 10, hard: 5}\n      nofiles: 3\n"
      "    container_name: \"-x\"\n    working_dir: app\n"
      "    pull_policy: sometimes\n    scale: 2\n    deploy:\n      replicas: 3\n",
      "stack: warning: stack.yml:9:5: services.web.container_name: ignored: containers are "
      "named PROJECT-SERVICE-1\n"
      "stack: warning: stack.yml:12:5: services.web.scale: ignored: each service runs one "
      "container\n"
      "stack: warning: stack.yml:14:7: services.web.deploy.replicas: ignored: each service "
      "runs one container\n"
      "stack: stack.yml:2:3: services.\"bad name\": invalid service name `bad name`: "
      "use letters, digits, `.`, `_` and `-` only\n"
      "stack: stack.yml:7:22: services.web.ulimits.nofile.soft: soft limit 10 is "
      "above the hard limit 5\n"
      "stack: stack.yml:8:7: services.web.ulimits.nofiles: unknown ulimit `nofiles`; "
      "known: as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, "
      "nproc, rss, rtprio, rttime, sigpending, stack\n"
      "stack: stack.yml:9:21: services.web.container_name: invalid container name "
      "`-x`: at least 2 characters, letters, digits, `_`, `.` and `-`, starting with "
      "a letter or digit\n"
      "stack: stack.yml:10:18: services.web.working_dir: `app` must be an absolute "
      "path inside the container (starting with /)\n"
      "stack: stack.yml:11:18: services.web.pull_policy: `sometimes` is not a pull "
      "policy; use always, never, missing, build, daily, weekly or every_<duration> "
      "(such as every_12h)\n"
      "stack: stack.yml:12:12: services.web.scale: 2 differs from deploy.replicas "
      "(3); set only one of them\n");
  th_free (&t);
}

static void
test_lists_and_maps (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (
      &t,
      "services:\n  web:\n    image: a\n    environment: [=x]\n    labels: {a: [1]}\n"
      "    cap_add: [NET_ADMIN, NET_ADMIN]\n    extra_hosts: [nohost]\n"
      "    expose: [\"80/http\"]\n    devices: [\"dev/fuse\"]\n",
      "stack: stack.yml:4:19: services.web.environment[0]: `=x` has no name before "
      "`=`; write KEY=value\n"
      "stack: stack.yml:5:17: services.web.labels.a: must be a string, a number or a "
      "boolean, not a list\n"
      "stack: stack.yml:6:26: services.web.cap_add[1]: `NET_ADMIN` is listed twice "
      "(first at line 6)\n"
      "stack: stack.yml:7:19: services.web.extra_hosts[0]: `nohost` has no IP "
      "address; write HOST=IP, such as db=10.0.0.5\n"
      "stack: stack.yml:8:14: services.web.expose[0]: `80/http` is not a port; write "
      "a number, a range such as 8000-8010, optionally with /tcp or /udp\n"
      "stack: stack.yml:9:15: services.web.devices[0]: `dev/fuse` must be an "
      "absolute device path such as /dev/fuse\n");
  th_free (&t);
}

static void
test_top_level_resources_errors (void **state)
{
  th_t t;
  (void)state;
  assert_load_error (
      &t,
      "secrets:\n  s: {}\nvolumes:\n  v:\n    external: true\n    driver: local\n"
      "networks:\n  n:\n    external: {name: x}\n    name: y\nservices: {}\n",
      "stack: stack.yml:2:6: secrets.s: a secret needs a source: `file:`, "
      "`environment:` or `external: true`\n"
      "stack: stack.yml:6:5: volumes.v.driver: an external volume is made elsewhere; "
      "`driver` cannot be set with `external: true`\n"
      "stack: stack.yml:9:22: networks.n.external.name: give the name once: both "
      "`name` and the old `external.name` are set\n");
  th_free (&t);
}

static void
test_warnings_once (void **state)
{
  th_t t;
  (void)state;
  assert_int_equal (th_load (&t, "version: \"3\"\nservices:\n  web:\n    image: a\n"
                                 "    isolation: default\n  w2:\n    image: a\n"
                                 "    isolation: default\n"),
                    0);
  assert_string_equal (t.out,
                       "stack: warning: stack.yml:1:1: version: ignored: the top-level `version` "
                       "is obsolete\n"
                       "stack: warning: stack.yml:5:5: services.web.isolation: ignored: isolation "
                       "is a Windows setting\n");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_wrong_type_and_unknown_keys),
    cmocka_unit_test (test_unknown_top_level_key),
    cmocka_unit_test (test_needs_image_or_build),
    cmocka_unit_test (test_bad_scalars),
    cmocka_unit_test (test_string_fields_refuse_booleans),
    cmocka_unit_test (test_depends_on_and_healthcheck),
    cmocka_unit_test (test_undefined_references),
    cmocka_unit_test (test_optional_dependency_may_be_missing),
    cmocka_unit_test (test_undeclared_resources),
    cmocka_unit_test (test_bad_mounts),
    cmocka_unit_test (test_network_mode_and_networks),
    cmocka_unit_test (test_service_level_checks),
    cmocka_unit_test (test_lists_and_maps),
    cmocka_unit_test (test_top_level_resources_errors),
    cmocka_unit_test (test_warnings_once),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
