/* test_plan.c — a service of the model turned into a container_spec: each
   of Docker's rules, with the exact values and the exact error texts. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <linux/capability.h>

#include "helpers.h"
#include "plan-internal.h"

#define CAP(c) (1ULL << (c))

typedef struct pt
{
  th_t t;
  arena_t *a;
  svc_plan_t plan;
  stack_error_t *err;
  int ret;
  plan_paths_t paths;
} pt_t;

static char *const busybox_cmd[] = { "sh", NULL };
static char *const busybox_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
static const rt_image_config_t busybox
    = { .cmd = (char **)busybox_cmd, .env = (char **)busybox_env };

/* Load yaml (a project named "test"), plan its service `web` with img. */
static int
plan (pt_t *pt, const char *yaml, const rt_image_config_t *img)
{
  compose_service_t *s;

  memset (pt, 0, sizeof *pt);
  if (th_load (&pt->t, yaml) != 0)
    fail_msg ("load failed:\n%s", pt->t.out);
  s = compose_service_find (pt->t.p, "web");
  assert_non_null (s);
  pt->paths.container_id = "test-web-1";
  pt->paths.cgroup_path = "stack/test/test-web-1";
  pt->paths.container_dir = "/r/containers/test-web-1";
  pt->paths.volumes_dir = "/r/volumes";
  pt->a = arena_new ();
  pt->ret = plan_service (pt->a, pt->t.p, s, img, &pt->paths, &pt->plan, &pt->err);
  return pt->ret;
}

#define plan_ok(pt, yaml, img)                                                                     \
  do                                                                                               \
    {                                                                                              \
      if (plan ((pt), (yaml), (img)) != 0)                                                         \
        fail_msg ("plan failed: %s", (pt)->err ? (pt)->err->msg : "(no error)");                   \
    }                                                                                              \
  while (0)

/* Assert plan_service fails with exactly `msg` and status EINVAL. */
#define plan_error(pt, yaml, img, expected)                                                        \
  do                                                                                               \
    {                                                                                              \
      assert_int_equal (plan ((pt), (yaml), (img)), -1);                                           \
      assert_non_null ((pt)->err);                                                                 \
      assert_string_equal ((pt)->err->msg, (expected));                                            \
      assert_int_equal ((pt)->err->status, EINVAL);                                                \
      pt_free (pt);                                                                                \
    }                                                                                              \
  while (0)

static void
pt_free (pt_t *pt)
{
  arena_free (pt->a);
  stack_error_free (&pt->err);
  th_free (&pt->t);
}

/* "a|b|c" of a NULL-terminated list; "<null>" for none. */
static const char *
join (const char *const *v)
{
  static char buf[4096];
  size_t n = 0, i;

  if (v == NULL)
    return "<null>";
  buf[0] = '\0';
  for (i = 0; v[i]; i++)
    n += (size_t)snprintf (buf + n, sizeof buf - n, "%s%s", i ? "|" : "", v[i]);
  return buf;
}

/* "TYPE:SOURCE>TARGET[,ro][,create][,seed][,prop=P][,size=N][,mode=O][,exec]" per mount, "; "
 * between. */
static const char *
mounts (const svc_plan_t *p)
{
  static const char *const types[] = { "bind", "volume", "tmpfs" };
  static char buf[4096];
  size_t n = 0, i;

  buf[0] = '\0';
  for (i = 0; i < p->spec.n_mounts; i++)
    {
      const rt_mount_t *m = &p->spec.mounts[i];
      n += (size_t)snprintf (buf + n, sizeof buf - n, "%s%s:%s>%s", i ? "; " : "", types[m->type],
                             m->source ? m->source : "", m->target);
      if (m->read_only)
        n += (size_t)snprintf (buf + n, sizeof buf - n, ",ro");
      if (m->create_source)
        n += (size_t)snprintf (buf + n, sizeof buf - n, ",create");
      if (m->seed)
        n += (size_t)snprintf (buf + n, sizeof buf - n, ",seed");
      if (m->propagation)
        n += (size_t)snprintf (buf + n, sizeof buf - n, ",prop=%s", m->propagation);
      if (m->tmpfs_size)
        n += (size_t)snprintf (buf + n, sizeof buf - n, ",size=%llu",
                               (unsigned long long)m->tmpfs_size);
      if (m->tmpfs_mode)
        n += (size_t)snprintf (buf + n, sizeof buf - n, ",mode=%o", m->tmpfs_mode);
      if (m->tmpfs_exec)
        n += (size_t)snprintf (buf + n, sizeof buf - n, ",exec");
    }
  return buf;
}

/* "name>dir[,external][,anonymous]" per volume, "; " between. */
static const char *
volumes (const svc_plan_t *p)
{
  static char buf[2048];
  size_t n = 0, i;

  buf[0] = '\0';
  for (i = 0; i < p->n_volumes; i++)
    n += (size_t)snprintf (buf + n, sizeof buf - n, "%s%s>%s%s%s", i ? "; " : "",
                           p->volumes[i].name, p->volumes[i].dir,
                           p->volumes[i].external ? ",external" : "",
                           p->volumes[i].anonymous ? ",anonymous" : "");
  return buf;
}

/* ---- argv ---- */

static void
check_argv (const char *svc_keys, const rt_image_config_t *img, const char *expected)
{
  pt_t pt;
  char *yaml = xasprintf ("services:\n  web:\n    image: img\n%s", svc_keys);
  plan_ok (&pt, yaml, img);
  if (strcmp (join (pt.plan.spec.argv), expected) != 0)
    fail_msg ("for\n%sargv is %s, expected %s", svc_keys, join (pt.plan.spec.argv), expected);
  pt_free (&pt);
  free (yaml);
}

static void
test_argv_matrix (void **state)
{
  static char *const ep[] = { "/ep", "-x", NULL }, *const cmd[] = { "c1", "c2", NULL };
  const rt_image_config_t with_ep = { .entrypoint = (char **)ep, .cmd = (char **)cmd };
  const rt_image_config_t no_ep = { .cmd = (char **)cmd };
  (void)state;

  /* the 8 of (service entrypoint?, service command?, image entrypoint?) */
  check_argv ("", &with_ep, "/ep|-x|c1|c2");
  check_argv ("    command: a b\n", &with_ep, "/ep|-x|a|b");
  check_argv ("    entrypoint: [e]\n", &with_ep, "e"); /* the image's Cmd goes too */
  check_argv ("    entrypoint: [e]\n    command: [a]\n", &with_ep, "e|a");
  check_argv ("", &no_ep, "c1|c2");
  check_argv ("    command: a b\n", &no_ep, "a|b");
  check_argv ("    entrypoint: [e]\n", &no_ep, "e");
  check_argv ("    entrypoint: [e]\n    command: [a]\n", &no_ep, "e|a");
  /* empties, as moby merges them: an empty entrypoint drops the image's
     but keeps its Cmd; an empty command is no command */
  check_argv ("    entrypoint: \"\"\n", &with_ep, "c1|c2");
  check_argv ("    entrypoint: []\n    command: [a]\n", &with_ep, "a");
  check_argv ("    command: []\n", &with_ep, "/ep|-x|c1|c2");
  check_argv ("    entrypoint: sh -c 'echo \"a b\"'\n", &with_ep, "sh|-c|echo \"a b\"");
}

static void
test_argv_none_is_an_error (void **state)
{
  static char *const ep[] = { "/ep", NULL };
  const rt_image_config_t only_ep = { .entrypoint = (char **)ep };
  pt_t pt;
  (void)state;

  plan_error (&pt, "services:\n  web:\n    image: scratch\n", &(rt_image_config_t){ 0 },
              "stack.yml:3:5: services.web: no command to run: the image `scratch` has neither "
              "Entrypoint nor Cmd; set `command` (or `entrypoint`) in the service");
  plan_error (&pt, "services:\n  web:\n    image: scratch\n    entrypoint: \"\"\n", &only_ep,
              "stack.yml:3:5: services.web: no command to run: the image `scratch` has neither "
              "Entrypoint nor Cmd; set `command` (or `entrypoint`) in the service");
  /* NULL image config: as an image with nothing */
  plan_ok (&pt, "services:\n  web:\n    build: .\n    command: [\"true\"]\n", NULL);
  assert_string_equal (join (pt.plan.spec.argv), "true");
  assert_string_equal (pt.plan.image, "test-web");
  pt_free (&pt);
}

/* ---- env, user, cwd, identity ---- */

static void
test_env_order_and_replacement (void **state)
{
  static char *const env[] = { "PATH=/usr/bin", "A=img", "B=img", "KEEP=1", NULL };
  const rt_image_config_t img = { .cmd = (char **)busybox_cmd, .env = (char **)env };
  pt_t pt;
  (void)state;

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    environment:\n      B: svc\n      C: 3\n"
           "      A:\n      EMPTY: \"\"\n",
           &img);
  /* A without a value (and not in the OS environment) unsets the image's A */
  assert_string_equal (join (pt.plan.spec.env),
                       "PATH=/usr/bin|HOSTNAME=test-web-1|B=svc|KEEP=1|C=3|EMPTY=");
  pt_free (&pt);

  /* no Env in the image: Docker's default PATH; tty adds TERM */
  plan_ok (&pt, "services:\n  web:\n    image: a\n    tty: true\n    hostname: box\n",
           &(rt_image_config_t){ .cmd = (char **)busybox_cmd });
  assert_string_equal (join (pt.plan.spec.env),
                       "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|"
                       "HOSTNAME=box|TERM=xterm");
  assert_true (pt.plan.spec.tty);
  pt_free (&pt);
}

static void
test_env_from_os (void **state)
{
  pt_t pt;
  compose_service_t *s;
  (void)state;

  /* th_load resets t, so load by hand with a process environment */
  memset (&pt, 0, sizeof pt);
  th_init (&pt.t);
  pt.t.env[0] = "FROM_OS=os";
  pt.t.project_name = "test";
  th_write (&pt.t, "stack.yml",
            "services:\n  web:\n    image: a\n    environment: [FROM_OS, UNSET]\n");
  assert_int_equal (th_run (&pt.t), 0);
  s = compose_service_find (pt.t.p, "web");
  pt.paths = (plan_paths_t){ "test-web-1", "stack/test/test-web-1", "/r/c", "/r/v" };
  pt.a = arena_new ();
  assert_int_equal (plan_service (pt.a, pt.t.p, s, &busybox, &pt.paths, &pt.plan, &pt.err), 0);
  assert_string_equal (join (pt.plan.spec.env),
                       "PATH=/usr/sbin:/usr/bin:/sbin:/bin|HOSTNAME=test-web-1|FROM_OS=os");
  pt_free (&pt);
}

static void
test_identity_and_paths (void **state)
{
  static char *const cmd[] = { "x", NULL };
  const rt_image_config_t img
      = { .cmd = (char **)cmd, .user = "nobody", .working_dir = "/srv", .env = NULL };
  pt_t pt;
  (void)state;

  plan_ok (&pt, "services:\n  web:\n    image: a\n", &img);
  assert_string_equal (pt.plan.image, "a");
  assert_string_equal (pt.plan.spec.id, "test-web-1");
  assert_string_equal (pt.plan.spec.cgroup_path, "stack/test/test-web-1");
  assert_string_equal (pt.plan.spec.rootfs_dir, "/r/containers/test-web-1/rootfs");
  assert_string_equal (pt.plan.spec.upper_dir, "/r/containers/test-web-1/upper");
  assert_string_equal (pt.plan.spec.work_dir, "/r/containers/test-web-1/work");
  assert_string_equal (pt.plan.spec.hosts_file, "/r/containers/test-web-1/hosts");
  assert_string_equal (pt.plan.spec.hostname_file, "/r/containers/test-web-1/hostname");
  assert_string_equal (pt.plan.spec.resolv_file, "/r/containers/test-web-1/resolv.conf");
  assert_null (pt.plan.spec.layers);
  assert_int_equal (pt.plan.spec.n_layers, 0);
  assert_string_equal (pt.plan.spec.hostname, "test-web-1");
  assert_null (pt.plan.spec.domainname);
  assert_string_equal (pt.plan.spec.user, "nobody");
  assert_string_equal (pt.plan.spec.cwd, "/srv");
  assert_null (pt.plan.spec.group_add);
  assert_false (pt.plan.spec.tty || pt.plan.spec.init || pt.plan.stdin_open);
  assert_int_equal (pt.plan.spec.stdin_fd, -1);
  assert_int_equal (pt.plan.spec.stdout_fd, -1);
  assert_int_equal (pt.plan.spec.stderr_fd, -1);
  assert_false (pt.plan.spec.read_only_root);
  pt_free (&pt);

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    user: \"1000:1000\"\n    working_dir: /app\n"
           "    hostname: h\n    domainname: example.org\n    init: true\n    stdin_open: true\n"
           "    group_add: [audio, 44]\n    read_only: true\n",
           &img);
  assert_string_equal (pt.plan.spec.user, "1000:1000");
  assert_string_equal (pt.plan.spec.cwd, "/app");
  assert_string_equal (pt.plan.spec.hostname, "h");
  assert_string_equal (pt.plan.spec.domainname, "example.org");
  assert_true (pt.plan.spec.init && pt.plan.stdin_open && pt.plan.spec.read_only_root);
  assert_string_equal (join (pt.plan.spec.group_add), "audio|44");
  pt_free (&pt);
}

static void
test_hostname_cut_at_63 (void **state)
{
  pt_t pt;
  compose_service_t *s;
  const char *id = "a-project-with-a-rather-long-name-and-a-service-with-one-too-1234567890";
  (void)state;

  plan_ok (&pt, "services:\n  web:\n    image: a\n", &busybox);
  s = compose_service_find (pt.t.p, "web");
  pt.paths.container_id = id;
  assert_int_equal (plan_service (pt.a, pt.t.p, s, &busybox, &pt.paths, &pt.plan, &pt.err), 0);
  assert_int_equal (strlen (pt.plan.spec.hostname), 63);
  assert_memory_equal (pt.plan.spec.hostname, id, 63);
  assert_string_equal (pt.plan.spec.id, id);
  pt_free (&pt);

  /* host network: no hostname of our own (the UTS namespace starts with the host's) */
  plan_ok (&pt, "services:\n  web:\n    image: a\n    network_mode: host\n", &busybox);
  assert_null (pt.plan.spec.hostname);
  assert_string_equal (join (pt.plan.spec.env), "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
  pt_free (&pt);
}

/* ---- stop ---- */

static void
test_stop_signal_and_grace (void **state)
{
  pt_t pt;
  rt_image_config_t img = busybox;
  (void)state;

  plan_ok (&pt, "services:\n  web:\n    image: a\n", &busybox);
  assert_int_equal (pt.plan.stop_signal, SIGTERM);
  assert_int_equal (pt.plan.stop_grace_ns, 10000000000LL);
  pt_free (&pt);

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    stop_signal: SIGUSR1\n"
           "    stop_grace_period: 1m30s\n",
           &busybox);
  assert_int_equal (pt.plan.stop_signal, SIGUSR1);
  assert_int_equal (pt.plan.stop_grace_ns, 90000000000LL);
  pt_free (&pt);

  img.stop_signal = "SIGQUIT";
  plan_ok (&pt, "services:\n  web:\n    image: a\n", &img);
  assert_int_equal (pt.plan.stop_signal, SIGQUIT);
  pt_free (&pt);
  plan_ok (&pt, "services:\n  web:\n    image: a\n    stop_signal: \"10\"\n", &img);
  assert_int_equal (pt.plan.stop_signal, 10);
  pt_free (&pt);

  plan_error (&pt, "services:\n  web:\n    image: a\n    stop_signal: SIGFOO\n", &busybox,
              "stack.yml:4:18: services.web.stop_signal: `SIGFOO` is not a signal; use a name "
              "such as SIGTERM or SIGQUIT, or a number");
  img.stop_signal = "BOGUS";
  plan_error (&pt, "services:\n  web:\n    image: a\n", &img,
              "services.web: the image's StopSignal `BOGUS` is not a signal; set `stop_signal` "
              "in the service");
}

/* plan-run.c: what the supervisor needs beside the spec. */
static void
test_restart_policies (void **state)
{
  static const struct
  {
    const char *yaml;
    enum plan_restart restart;
    unsigned max;
  } cases[] = {
    { "", PLAN_RESTART_NO, 0 },
    { "    restart: \"no\"\n", PLAN_RESTART_NO, 0 },
    { "    restart: always\n", PLAN_RESTART_ALWAYS, 0 },
    { "    restart: unless-stopped\n", PLAN_RESTART_UNLESS_STOPPED, 0 },
    { "    restart: on-failure\n", PLAN_RESTART_ON_FAILURE, 0 },
    { "    restart: on-failure:3\n", PLAN_RESTART_ON_FAILURE, 3 },
    /* Compose maps the swarm policy when `restart` is absent */
    { "    deploy: {restart_policy: {condition: any}}\n", PLAN_RESTART_ALWAYS, 0 },
    { "    deploy: {restart_policy: {condition: on-failure, max_attempts: 2}}\n",
      PLAN_RESTART_ON_FAILURE, 2 },
    { "    deploy: {restart_policy: {condition: none}}\n", PLAN_RESTART_NO, 0 },
    { "    restart: always\n    deploy: {restart_policy: {condition: none}}\n",
      PLAN_RESTART_ALWAYS, 0 },
  };
  size_t i;
  (void)state;

  for (i = 0; i < ARRAY_SIZE (cases); i++)
    {
      pt_t pt;
      char *yaml = xasprintf ("services:\n  web:\n    image: a\n%s", cases[i].yaml);
      plan_ok (&pt, yaml, &busybox);
      assert_int_equal (pt.plan.restart, cases[i].restart);
      assert_int_equal (pt.plan.max_restarts, cases[i].max);
      pt_free (&pt);
      free (yaml);
    }
}

static void
test_healthcheck (void **state)
{
  pt_t pt;
  (void)state;

  plan_ok (&pt, "services:\n  web:\n    image: a\n", &busybox);
  assert_null (pt.plan.health.argv);
  pt_free (&pt);

  /* a string is CMD-SHELL; Docker's defaults fill the rest */
  plan_ok (&pt, "services:\n  web:\n    image: a\n    healthcheck:\n      test: pg_isready -q\n",
           &busybox);
  assert_string_equal (join (pt.plan.health.argv), "/bin/sh|-c|pg_isready -q");
  assert_int_equal (pt.plan.health.interval_ns, 30000000000LL);
  assert_int_equal (pt.plan.health.timeout_ns, 30000000000LL);
  assert_int_equal (pt.plan.health.start_period_ns, 0);
  assert_int_equal (pt.plan.health.start_interval_ns, 5000000000LL);
  assert_int_equal (pt.plan.health.retries, 3);
  pt_free (&pt);

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    healthcheck:\n"
           "      test: [CMD, redis-cli, ping]\n      interval: 2s\n      timeout: 500ms\n"
           "      retries: 5\n      start_period: 1m\n      start_interval: 100ms\n",
           &busybox);
  assert_string_equal (join (pt.plan.health.argv), "redis-cli|ping");
  assert_int_equal (pt.plan.health.interval_ns, 2000000000LL);
  assert_int_equal (pt.plan.health.timeout_ns, 500000000LL);
  assert_int_equal (pt.plan.health.retries, 5);
  assert_int_equal (pt.plan.health.start_period_ns, 60000000000LL);
  assert_int_equal (pt.plan.health.start_interval_ns, 100000000LL);
  pt_free (&pt);

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    healthcheck:\n"
           "      test: [CMD-SHELL, \"curl -f localhost || exit 1\"]\n      retries: 0\n",
           &busybox);
  assert_string_equal (join (pt.plan.health.argv), "/bin/sh|-c|curl -f localhost || exit 1");
  assert_int_equal (pt.plan.health.retries, 3); /* 0: the default, as Docker */
  pt_free (&pt);

  /* turned off */
  plan_ok (&pt, "services:\n  web:\n    image: a\n    healthcheck:\n      test: [NONE]\n",
           &busybox);
  assert_null (pt.plan.health.argv);
  pt_free (&pt);
  plan_ok (&pt, "services:\n  web:\n    image: a\n    healthcheck:\n      disable: true\n",
           &busybox);
  assert_null (pt.plan.health.argv);
  pt_free (&pt);
}

/* The image's HEALTHCHECK when the service has none, merged field by
   field as Docker does. */
static void
test_healthcheck_from_image (void **state)
{
  static char *const shell[] = { "CMD-SHELL", "wget -q -O- localhost:80 || exit 1", NULL };
  static char *const cmd[] = { "CMD", "/healthy", "--quick", NULL };
  static char *const none[] = { "NONE", NULL };
  rt_image_health_t hs = { .test = (char **)shell,
                           .interval_ns = 10000000000LL,
                           .timeout_ns = 2000000000LL,
                           .start_period_ns = 7000000000LL,
                           .retries = 4 };
  rt_image_health_t hc = { .test = (char **)cmd };
  rt_image_health_t hn = { .test = (char **)none, .interval_ns = 1000000000LL };
  rt_image_health_t ht = { .interval_ns = 4000000000LL, .retries = 9 }; /* timings only */
  rt_image_config_t img = busybox;
  pt_t pt;
  (void)state;

  /* the image's, whole; what it does not set takes Docker's defaults */
  img.healthcheck = &hs;
  plan_ok (&pt, "services:\n  web:\n    image: a\n", &img);
  assert_string_equal (join (pt.plan.health.argv), "/bin/sh|-c|wget -q -O- localhost:80 || exit 1");
  assert_int_equal (pt.plan.health.interval_ns, 10000000000LL);
  assert_int_equal (pt.plan.health.timeout_ns, 2000000000LL);
  assert_int_equal (pt.plan.health.start_period_ns, 7000000000LL);
  assert_int_equal (pt.plan.health.start_interval_ns, 5000000000LL);
  assert_int_equal (pt.plan.health.retries, 4);
  pt_free (&pt);

  img.healthcheck = &hc;
  plan_ok (&pt, "services:\n  web:\n    image: a\n", &img);
  assert_string_equal (join (pt.plan.health.argv), "/healthy|--quick");
  assert_int_equal (pt.plan.health.interval_ns, 30000000000LL);
  assert_int_equal (pt.plan.health.timeout_ns, 30000000000LL);
  assert_int_equal (pt.plan.health.retries, 3);
  pt_free (&pt);

  /* the image's NONE: no check */
  img.healthcheck = &hn;
  plan_ok (&pt, "services:\n  web:\n    image: a\n", &img);
  assert_null (pt.plan.health.argv);
  pt_free (&pt);

  /* an image healthcheck without a test has nothing to run */
  img.healthcheck = &ht;
  plan_ok (&pt, "services:\n  web:\n    image: a\n", &img);
  assert_null (pt.plan.health.argv);
  pt_free (&pt);

  /* the service sets only timings: the image's test, the service's
     interval and retries, the image's timeout and start_period */
  img.healthcheck = &hs;
  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    healthcheck:\n      interval: 3s\n"
           "      retries: 6\n      start_interval: 1s\n",
           &img);
  assert_string_equal (join (pt.plan.health.argv), "/bin/sh|-c|wget -q -O- localhost:80 || exit 1");
  assert_int_equal (pt.plan.health.interval_ns, 3000000000LL);
  assert_int_equal (pt.plan.health.timeout_ns, 2000000000LL);
  assert_int_equal (pt.plan.health.start_period_ns, 7000000000LL);
  assert_int_equal (pt.plan.health.start_interval_ns, 1000000000LL);
  assert_int_equal (pt.plan.health.retries, 6);
  pt_free (&pt);

  /* the service's test wins; its 0s and unset fields fall to the image's */
  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    healthcheck:\n"
           "      test: [CMD, pg_isready]\n      timeout: 0s\n      retries: 0\n",
           &img);
  assert_string_equal (join (pt.plan.health.argv), "pg_isready");
  assert_int_equal (pt.plan.health.interval_ns, 10000000000LL);
  assert_int_equal (pt.plan.health.timeout_ns, 2000000000LL);
  assert_int_equal (pt.plan.health.retries, 4);
  pt_free (&pt);

  /* the service turns the image's check off */
  plan_ok (&pt, "services:\n  web:\n    image: a\n    healthcheck:\n      test: [NONE]\n", &img);
  assert_null (pt.plan.health.argv);
  pt_free (&pt);
  plan_ok (&pt, "services:\n  web:\n    image: a\n    healthcheck:\n      disable: true\n", &img);
  assert_null (pt.plan.health.argv);
  pt_free (&pt);

  /* the service's check over an image that says NONE */
  img.healthcheck = &hn;
  plan_ok (&pt, "services:\n  web:\n    image: a\n    healthcheck:\n      test: [CMD, \"true\"]\n",
           &img);
  assert_string_equal (join (pt.plan.health.argv), "true");
  assert_int_equal (pt.plan.health.interval_ns, 1000000000LL);
  pt_free (&pt);
}

static void
test_depends_on_conditions (void **state)
{
  pt_t pt;
  (void)state;

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    depends_on:\n"
           "      db: {condition: service_healthy, restart: true}\n"
           "      init: {condition: service_completed_successfully}\n"
           "      cache: {condition: service_started, required: false}\n"
           "  db: {image: a}\n  init: {image: a}\n  cache: {image: a}\n",
           &busybox);
  assert_int_equal (pt.plan.n_deps, 3);
  assert_string_equal (pt.plan.deps[0].service, "db");
  assert_int_equal (pt.plan.deps[0].condition, PLAN_DEP_HEALTHY);
  assert_true (pt.plan.deps[0].required && pt.plan.deps[0].restart);
  assert_string_equal (pt.plan.deps[1].service, "init");
  assert_int_equal (pt.plan.deps[1].condition, PLAN_DEP_COMPLETED);
  assert_true (pt.plan.deps[1].required && !pt.plan.deps[1].restart);
  assert_string_equal (pt.plan.deps[2].service, "cache");
  assert_int_equal (pt.plan.deps[2].condition, PLAN_DEP_STARTED);
  assert_false (pt.plan.deps[2].required);
  pt_free (&pt);

  plan_ok (&pt, "services:\n  web:\n    image: a\n    depends_on: [db]\n  db: {image: a}\n",
           &busybox);
  assert_int_equal (pt.plan.n_deps, 1);
  assert_int_equal (pt.plan.deps[0].condition, PLAN_DEP_STARTED);
  assert_true (pt.plan.deps[0].required);
  pt_free (&pt);
}

static void
test_logging (void **state)
{
  pt_t pt;
  (void)state;

  plan_ok (&pt, "services:\n  web:\n    image: a\n", &busybox);
  assert_false (pt.plan.log_none);
  assert_int_equal (pt.plan.log_max_size, 10 << 20);
  assert_int_equal (pt.plan.log_max_files, 3);
  pt_free (&pt);

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    logging:\n      driver: json-file\n"
           "      options: {max-size: 200k, max-file: \"5\"}\n",
           &busybox);
  assert_int_equal (pt.plan.log_max_size, 200 * 1024);
  assert_int_equal (pt.plan.log_max_files, 5);
  pt_free (&pt);

  plan_ok (&pt, "services:\n  web:\n    image: a\n    logging: {driver: none}\n", &busybox);
  assert_true (pt.plan.log_none);
  pt_free (&pt);

  plan_error (&pt, "services:\n  web:\n    image: a\n    logging: {driver: syslog}\n", &busybox,
              "stack.yml:4:23: services.web.logging.driver: `syslog`: stack keeps output in "
              "json-file logs (see `stack logs`); use json-file, local or none");
  plan_error (&pt,
              "services:\n  web:\n    image: a\n    logging:\n      options: {max-size: 1k}\n",
              &busybox,
              "stack.yml:5:27: services.web.logging.options.max-size: `1k` is not a size of at "
              "least 4k; write for example 10m or 500k");
  plan_error (&pt,
              "services:\n  web:\n    image: a\n    logging:\n      options: {max-file: \"0\"}\n",
              &busybox,
              "stack.yml:5:27: services.web.logging.options.max-file: `0` is not a number of "
              "files from 1 to 100");
}

static void
test_config_hash (void **state)
{
  pt_t pt;
  char *first;
  (void)state;

  plan_ok (&pt, "services:\n  web:\n    image: a\n    command: sleep 1\n", &busybox);
  assert_int_equal (strlen (pt.plan.config_hash), 16);
  first = xstrdup (pt.plan.config_hash);
  pt_free (&pt);
  /* the same service written another way is the same service */
  plan_ok (&pt, "services:\n  web:\n    command: [sleep, \"1\"]\n    image: a\n", &busybox);
  assert_string_equal (pt.plan.config_hash, first);
  pt_free (&pt);
  plan_ok (&pt, "services:\n  web:\n    image: a\n    command: sleep 2\n", &busybox);
  assert_string_not_equal (pt.plan.config_hash, first);
  pt_free (&pt);
  free (first);
}

static void
test_signal_parse (void **state)
{
  (void)state;
  assert_int_equal (plan_signal_parse ("SIGUSR1"), SIGUSR1);
  assert_int_equal (plan_signal_parse ("USR1"), SIGUSR1);
  assert_int_equal (plan_signal_parse ("10"), 10);
  assert_int_equal (plan_signal_parse ("sigkill"), SIGKILL);
  assert_int_equal (plan_signal_parse ("TERM"), SIGTERM);
  assert_int_equal (plan_signal_parse ("SIGRTMIN"), SIGRTMIN);
  assert_int_equal (plan_signal_parse ("RTMIN+3"), SIGRTMIN + 3);
  assert_int_equal (plan_signal_parse ("SIGRTMAX-1"), SIGRTMAX - 1);
  assert_int_equal (plan_signal_parse ("0"), -1);
  assert_int_equal (plan_signal_parse ("65"), -1);
  assert_int_equal (plan_signal_parse ("15x"), -1);
  assert_int_equal (plan_signal_parse ("SIG"), -1);
  assert_int_equal (plan_signal_parse ("FOO"), -1);
  assert_int_equal (plan_signal_parse (""), -1);
  assert_int_equal (plan_signal_parse ("RTMAX+1"), -1);
}

/* ---- limits ---- */

static void
test_memory_limits (void **state)
{
  pt_t pt;
  (void)state;

  plan_ok (&pt, "services:\n  web:\n    image: a\n", &busybox);
  assert_int_equal (pt.plan.spec.limits.memory, 0);
  assert_int_equal (pt.plan.spec.limits.memory_swap, 0);
  assert_int_equal (pt.plan.spec.limits.pids, 0);
  assert_true (pt.plan.spec.limits.cpus == 0);
  assert_null (pt.plan.spec.rlimits);
  pt_free (&pt);

  /* only memory: as much swap again (Docker's default) */
  plan_ok (&pt, "services:\n  web:\n    image: a\n    mem_limit: 512m\n", &busybox);
  assert_int_equal (pt.plan.spec.limits.memory, 536870912);
  assert_int_equal (pt.plan.spec.limits.memory_swap, 1073741824);
  pt_free (&pt);

  plan_ok (&pt, "services:\n  web:\n    image: a\n    mem_limit: 512m\n    memswap_limit: -1\n",
           &busybox);
  assert_int_equal (pt.plan.spec.limits.memory_swap, -1);
  pt_free (&pt);

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    mem_limit: 512m\n    memswap_limit: 600m\n"
           "    mem_reservation: 100m\n",
           &busybox);
  assert_int_equal (pt.plan.spec.limits.memory_swap, 629145600);
  assert_int_equal (pt.plan.spec.limits.memory_reservation, 104857600);
  pt_free (&pt);

  /* deploy.resources wins over the service's keys, as docker compose's setLimits */
  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    mem_limit: 512m\n    mem_reservation: 100m\n"
           "    deploy:\n      resources:\n        limits: {memory: 1g}\n"
           "        reservations: {memory: 10m}\n",
           &busybox);
  assert_int_equal (pt.plan.spec.limits.memory, 1073741824);
  assert_int_equal (pt.plan.spec.limits.memory_swap, 2147483648LL);
  assert_int_equal (pt.plan.spec.limits.memory_reservation, 10485760);
  pt_free (&pt);

  plan_error (&pt, "services:\n  web:\n    image: a\n    memswap_limit: 1g\n", &busybox,
              "stack.yml:4:20: services.web.memswap_limit: needs a memory limit: memswap_limit "
              "is memory plus swap; set mem_limit too");
  plan_error (&pt, "services:\n  web:\n    image: a\n    mem_limit: 1g\n    memswap_limit: 512m\n",
              &busybox,
              "stack.yml:5:20: services.web.memswap_limit: 536870912 is below the memory limit "
              "1073741824: memswap_limit is memory plus swap, so it must be at least mem_limit "
              "(-1: unlimited swap)");
  plan_error (&pt, "services:\n  web:\n    image: a\n    mem_limit: 1m\n", &busybox,
              "stack.yml:4:16: services.web.mem_limit: 1048576 bytes is below the minimum of 6m");
  plan_error (&pt,
              "services:\n  web:\n    image: a\n    mem_limit: 10m\n    mem_reservation: 20m\n",
              &busybox,
              "stack.yml:5:22: services.web.mem_reservation: 20971520 is above the memory limit "
              "10485760; a reservation must be at most the limit");
}

static void
test_cpu_and_other_limits (void **state)
{
  pt_t pt;
  (void)state;

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    cpus: 0.5\n    cpu_shares: 512\n"
           "    cpuset: \"0-1\"\n    pids_limit: 100\n    blkio_config: {weight: 300}\n"
           "    shm_size: 1g\n",
           &busybox);
  assert_true (pt.plan.spec.limits.cpus == 0.5);
  assert_int_equal (pt.plan.spec.limits.cpu_shares, 512);
  assert_string_equal (pt.plan.spec.limits.cpuset_cpus, "0-1");
  assert_null (pt.plan.spec.limits.cpuset_mems);
  assert_int_equal (pt.plan.spec.limits.pids, 100);
  assert_int_equal (pt.plan.spec.limits.io_weight, 300);
  assert_int_equal (pt.plan.spec.shm_size, 1073741824);
  pt_free (&pt);

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    cpus: 0.5\n    pids_limit: 100\n"
           "    deploy:\n      resources:\n        limits: {cpus: \"2\", pids: 50}\n",
           &busybox);
  assert_true (pt.plan.spec.limits.cpus == 2);
  assert_int_equal (pt.plan.spec.limits.pids, 50);
  pt_free (&pt);

  plan_ok (&pt, "services:\n  web:\n    image: a\n    pids_limit: -1\n", &busybox);
  assert_int_equal (pt.plan.spec.limits.pids, -1);
  pt_free (&pt);

  /* cpu_quota / cpu_period is what cpus means; the period defaults to 100ms */
  plan_ok (&pt, "services:\n  web:\n    image: a\n    cpu_quota: 50000\n", &busybox);
  assert_true (pt.plan.spec.limits.cpus == 0.5);
  pt_free (&pt);
  plan_ok (&pt, "services:\n  web:\n    image: a\n    cpu_quota: 50000\n    cpu_period: 200000\n",
           &busybox);
  assert_true (pt.plan.spec.limits.cpus == 0.25);
  pt_free (&pt);
  plan_ok (&pt, "services:\n  web:\n    image: a\n    cpu_quota: -1\n", &busybox);
  assert_true (pt.plan.spec.limits.cpus == 0);
  pt_free (&pt);

  plan_error (&pt, "services:\n  web:\n    image: a\n    cpus: 1.5\n    cpu_quota: 50000\n",
              &busybox,
              "stack.yml:5:16: services.web.cpu_quota: cannot be used with `cpus`; set only one "
              "of them (cpus: 1.5 is cpu_quota: 150000 with cpu_period: 100000)");
}

static void
test_ulimits (void **state)
{
  pt_t pt;
  const rt_rlimit_t *r;
  (void)state;

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    ulimits:\n      nofile: {soft: 1024, hard: 2048}\n"
           "      nproc: 512\n      core: -1\n      memlock: {soft: -1, hard: -1}\n",
           &busybox);
  assert_int_equal (pt.plan.spec.n_rlimits, 4);
  r = pt.plan.spec.rlimits;
  assert_int_equal (r[0].resource, RLIMIT_NOFILE);
  assert_int_equal (r[0].soft, 1024);
  assert_int_equal (r[0].hard, 2048);
  assert_int_equal (r[1].resource, RLIMIT_NPROC);
  assert_int_equal (r[1].soft, 512);
  assert_int_equal (r[1].hard, 512);
  assert_int_equal (r[2].resource, RLIMIT_CORE);
  assert_true (r[2].soft == RLIM_INFINITY && r[2].hard == RLIM_INFINITY);
  assert_int_equal (r[3].resource, RLIMIT_MEMLOCK);
  assert_true (r[3].soft == RLIM_INFINITY && r[3].hard == RLIM_INFINITY);
  pt_free (&pt);
}

/* ---- security ---- */

static uint64_t
caps_of (const char *keys)
{
  pt_t pt;
  uint64_t caps;
  char *yaml = xasprintf ("services:\n  web:\n    image: a\n%s", keys);
  plan_ok (&pt, yaml, &busybox);
  caps = pt.plan.spec.caps;
  pt_free (&pt);
  free (yaml);
  return caps;
}

static void
test_capabilities (void **state)
{
  uint64_t every, def = rt_default_caps ();
  pt_t pt;
  (void)state;

  assert_true (rt_cap_parse ("ALL", &every));
  assert_true (caps_of ("") == def);
  assert_true (caps_of ("    cap_add: [NET_ADMIN, CAP_SYS_TIME]\n")
               == (def | CAP (CAP_NET_ADMIN) | CAP (CAP_SYS_TIME)));
  assert_true (caps_of ("    cap_drop: [NET_RAW, mknod]\n")
               == (def & ~(CAP (CAP_NET_RAW) | CAP (CAP_MKNOD))));
  /* drop ALL: exactly the added ones */
  assert_true (caps_of ("    cap_drop: [ALL]\n    cap_add: [NET_BIND_SERVICE]\n")
               == CAP (CAP_NET_BIND_SERVICE));
  assert_true (caps_of ("    cap_drop: [all]\n") == 0);
  /* add ALL: everything but the dropped ones */
  assert_true (caps_of ("    cap_add: [ALL]\n    cap_drop: [SYS_ADMIN]\n")
               == (every & ~CAP (CAP_SYS_ADMIN)));
  assert_true (caps_of ("    cap_add: [ALL]\n    cap_drop: [ALL]\n") == every);
  /* the same capability in both: added after the drop, so kept (moby) */
  assert_true (caps_of ("    cap_add: [NET_ADMIN, CHOWN]\n    cap_drop: [CHOWN, NET_ADMIN]\n")
               == (def | CAP (CAP_NET_ADMIN)));

  plan_ok (&pt, "services:\n  web:\n    image: a\n    privileged: true\n    cap_drop: [ALL]\n",
           &busybox);
  assert_true (pt.plan.spec.privileged);
  assert_true (pt.plan.spec.caps == every);
  pt_free (&pt);

  plan_error (&pt,
              "services:\n  web:\n    image: a\n    cap_add:\n      - CHOWN\n      - NET_FOO\n",
              &busybox, "stack.yml:6:9: services.web.cap_add[1]: unknown capability \"NET_FOO\"");
  plan_error (&pt, "services:\n  web:\n    image: a\n    cap_drop: [CAP_ALL]\n", &busybox,
              "stack.yml:4:16: services.web.cap_drop[0]: unknown capability \"CAP_ALL\"");
}

static void
check_secopt (const char *opt, bool nnp, bool unconfined)
{
  pt_t pt;
  char *yaml = xasprintf ("services:\n  web:\n    image: a\n    security_opt: [\"%s\"]\n", opt);
  plan_ok (&pt, yaml, &busybox);
  if (pt.plan.spec.no_new_privileges != nnp || pt.plan.spec.seccomp_unconfined != unconfined)
    fail_msg ("%s: no_new_privileges %d seccomp_unconfined %d", opt, pt.plan.spec.no_new_privileges,
              pt.plan.spec.seccomp_unconfined);
  pt_free (&pt);
  free (yaml);
}

static void
test_security_opt (void **state)
{
  pt_t pt;
  (void)state;

  check_secopt ("no-new-privileges", true, false);
  check_secopt ("no-new-privileges:true", true, false);
  check_secopt ("no-new-privileges=true", true, false);
  check_secopt ("no-new-privileges:false", false, false);
  check_secopt ("seccomp=unconfined", false, true);
  check_secopt ("seccomp:unconfined", false, true);
  check_secopt ("seccomp=builtin", false, false);
  check_secopt ("label=disable", false, false);
  check_secopt ("label:type:svirt_apache_t", false, false);
  check_secopt ("apparmor=unconfined", false, false);

  plan_ok (&pt, "services:\n  web:\n    image: a\n", &busybox);
  assert_false (pt.plan.spec.no_new_privileges || pt.plan.spec.seccomp_unconfined
                || pt.plan.spec.privileged);
  assert_null (pt.plan.spec.sysctls);
  pt_free (&pt);

  plan_error (&pt,
              "services:\n  web:\n    image: a\n    security_opt:\n      - label=disable\n"
              "      - seccomp=./profile.json\n",
              &busybox,
              "stack.yml:6:9: services.web.security_opt[1]: custom seccomp profiles are not "
              "supported yet; use seccomp=unconfined or remove it");
  plan_error (&pt, "services:\n  web:\n    image: a\n    security_opt: [\"seccomp:/p.json\"]\n",
              &busybox,
              "stack.yml:4:20: services.web.security_opt[0]: custom seccomp profiles are not "
              "supported yet; use seccomp=unconfined or remove it");
  plan_error (&pt, "services:\n  web:\n    image: a\n    security_opt: [no-new-privileges=maybe]\n",
              &busybox,
              "stack.yml:4:20: services.web.security_opt[0]: no-new-privileges takes true or "
              "false, not `maybe`");
  plan_error (&pt, "services:\n  web:\n    image: a\n    security_opt: [foo=bar]\n", &busybox,
              "stack.yml:4:20: services.web.security_opt[0]: unknown security option `foo`; "
              "stack knows no-new-privileges, seccomp=unconfined, label=... and apparmor=...");
  plan_error (&pt, "services:\n  web:\n    image: a\n    security_opt: [nonsense]\n", &busybox,
              "stack.yml:4:20: services.web.security_opt[0]: `nonsense` is not a security "
              "option; write KEY=VALUE, such as no-new-privileges=true or seccomp=unconfined");
}

static void
test_sysctls (void **state)
{
  pt_t pt;
  (void)state;

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    sysctls:\n      net.core.somaxconn: 1024\n"
           "      net.ipv4.tcp_syncookies: 0\n",
           &busybox);
  assert_string_equal (join (pt.plan.spec.sysctls),
                       "net.core.somaxconn=1024|net.ipv4.tcp_syncookies=0");
  pt_free (&pt);
  plan_ok (&pt, "services:\n  web:\n    image: a\n    sysctls: [net.core.somaxconn=4096]\n",
           &busybox);
  assert_string_equal (join (pt.plan.spec.sysctls), "net.core.somaxconn=4096");
  pt_free (&pt);
}

/* ---- namespaces ---- */

static void
check_ns (const char *keys, enum plan_ns net, const char *net_svc, enum plan_ns ipc,
          const char *ipc_svc, enum plan_ns pid, const char *pid_svc)
{
  pt_t pt;
  char *yaml = xasprintf ("services:\n  web:\n    image: a\n%s  db:\n    image: b\n", keys);
  plan_ok (&pt, yaml, &busybox);
  assert_int_equal (pt.plan.net, net);
  assert_int_equal (pt.plan.ipc, ipc);
  assert_int_equal (pt.plan.pid, pid);
  if (net_svc)
    assert_string_equal (pt.plan.net_service, net_svc);
  else
    assert_null (pt.plan.net_service);
  if (ipc_svc)
    assert_string_equal (pt.plan.ipc_service, ipc_svc);
  else
    assert_null (pt.plan.ipc_service);
  if (pid_svc)
    assert_string_equal (pt.plan.pid_service, pid_svc);
  else
    assert_null (pt.plan.pid_service);
  assert_int_equal (pt.plan.spec.host_net, net == PLAN_NS_HOST);
  assert_int_equal (pt.plan.spec.host_ipc, ipc == PLAN_NS_HOST);
  assert_int_equal (pt.plan.spec.host_pid, pid == PLAN_NS_HOST);
  pt_free (&pt);
  free (yaml);
}

static void
test_namespaces (void **state)
{
  (void)state;
  check_ns ("", PLAN_NS_PRIVATE, NULL, PLAN_NS_PRIVATE, NULL, PLAN_NS_PRIVATE, NULL);
  check_ns ("    network_mode: bridge\n", PLAN_NS_PRIVATE, NULL, PLAN_NS_PRIVATE, NULL,
            PLAN_NS_PRIVATE, NULL);
  check_ns ("    network_mode: none\n    ipc: private\n", PLAN_NS_NONE, NULL, PLAN_NS_PRIVATE, NULL,
            PLAN_NS_PRIVATE, NULL);
  check_ns ("    network_mode: host\n    ipc: host\n    pid: host\n", PLAN_NS_HOST, NULL,
            PLAN_NS_HOST, NULL, PLAN_NS_HOST, NULL);
  check_ns ("    network_mode: service:db\n    ipc: service:db\n    pid: service:db\n",
            PLAN_NS_SERVICE, "db", PLAN_NS_SERVICE, "db", PLAN_NS_SERVICE, "db");
  check_ns ("    network_mode: container:db\n    ipc: shareable\n", PLAN_NS_SERVICE, "db",
            PLAN_NS_PRIVATE, NULL, PLAN_NS_PRIVATE, NULL);
}

/* ---- mounts ---- */

static void
test_mounts_in_order (void **state)
{
  pt_t pt;
  char *exp;
  (void)state;

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    volumes:\n"
           "      - ./data:/data:ro\n"
           "      - db:/var/lib/db\n"
           "      - /anon\n"
           "      - type: bind\n        source: /srv\n        target: /srv\n"
           "        bind: {propagation: rshared, create_host_path: false}\n"
           "      - type: volume\n        source: db\n        target: /again\n"
           "        volume: {nocopy: true, subpath: sub/dir}\n"
           "      - type: volume\n        target: /anon2\n        read_only: true\n"
           "      - ext:/ext\n"
           "volumes:\n  db:\n  ext:\n    external: true\n  named:\n    name: real-name\n",
           &busybox);
  /* file order, except that deeper targets come after shallower ones */
  exp = xasprintf ("bind:%s/data>/data,ro,create; "
                   "volume:/r/volumes/test-web-1_anon_1/_data>/anon,seed; "
                   "bind:/srv>/srv,prop=rshared; "
                   "volume:/r/volumes/test_db/_data/sub/dir>/again; "
                   "volume:/r/volumes/test-web-1_anon_2/_data>/anon2,ro,seed; "
                   "volume:/r/volumes/ext/_data>/ext,seed; "
                   "volume:/r/volumes/test_db/_data>/var/lib/db,seed",
                   pt.t.dir);
  assert_string_equal (mounts (&pt.plan), exp);
  free (exp);
  /* each named volume once; external kept; anonymous ones marked */
  assert_string_equal (volumes (&pt.plan),
                       "test_db>/r/volumes/test_db/_data; "
                       "test-web-1_anon_1>/r/volumes/test-web-1_anon_1/_data,anonymous; "
                       "test-web-1_anon_2>/r/volumes/test-web-1_anon_2/_data,anonymous; "
                       "ext>/r/volumes/ext/_data,external");
  pt_free (&pt);

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    volumes: [named:/n]\n"
           "volumes:\n  named:\n    name: real-name\n",
           &busybox);
  assert_string_equal (volumes (&pt.plan), "real-name>/r/volumes/real-name/_data");
  assert_string_equal (mounts (&pt.plan), "volume:/r/volumes/real-name/_data>/n,seed");
  pt_free (&pt);

  /* none: no mounts, no volumes */
  plan_ok (&pt, "services:\n  web:\n    image: a\n", &busybox);
  assert_int_equal (pt.plan.spec.n_mounts, 0);
  assert_null (pt.plan.spec.mounts);
  assert_int_equal (pt.plan.n_volumes, 0);
  pt_free (&pt);
}

static void
test_mounts_sorted_parents_first (void **state)
{
  pt_t pt;
  (void)state;

  /* as the daemon sorts them: a mount never hides one made before it */
  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    volumes:\n      - /srv/a/b:/data/sub/x\n"
           "      - /srv/a:/data/sub\n      - /srv:/data\n      - /o:/other\n",
           &busybox);
  assert_string_equal (mounts (&pt.plan), "bind:/srv>/data,create; bind:/o>/other,create; "
                                          "bind:/srv/a>/data/sub,create; "
                                          "bind:/srv/a/b>/data/sub/x,create");
  pt_free (&pt);
}

static void
test_tmpfs (void **state)
{
  pt_t pt;
  (void)state;

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    tmpfs:\n      - /run\n"
           "      - /tmp:size=64m,mode=1777,exec\n      - /ro:ro,noexec,nosuid,nodev,size=1024\n"
           "    volumes:\n      - type: tmpfs\n        target: /cache\n"
           "        tmpfs: {size: 10m}\n",
           &busybox);
  /* `volumes:` first, then `tmpfs:`, each in file order */
  assert_string_equal (mounts (&pt.plan), "tmpfs:>/cache,size=10485760; tmpfs:>/run; "
                                          "tmpfs:>/tmp,size=67108864,mode=1777,exec; "
                                          "tmpfs:>/ro,ro,size=1024");
  assert_int_equal (pt.plan.n_volumes, 0);
  pt_free (&pt);

  plan_error (&pt, "services:\n  web:\n    image: a\n    tmpfs: [\"/t:uid=1000\"]\n", &busybox,
              "stack.yml:4:13: services.web.tmpfs[0]: tmpfs option `uid=1000` is not supported; "
              "use size=, mode=, exec, noexec, ro, rw, nosuid or nodev");
  plan_error (&pt, "services:\n  web:\n    image: a\n    tmpfs: [\"/t:mode=999\"]\n", &busybox,
              "stack.yml:4:13: services.web.tmpfs[0]: `mode=999`: the mode must be octal, such "
              "as mode=1777");
  plan_error (&pt, "services:\n  web:\n    image: a\n    tmpfs: [\"/t:size=big\"]\n", &busybox,
              "stack.yml:4:13: services.web.tmpfs[0]: `size=big`: the size must be bytes or a "
              "number with k, m or g");
  plan_error (&pt, "services:\n  web:\n    image: a\n    tmpfs: [run]\n", &busybox,
              "stack.yml:4:13: services.web.tmpfs[0]: `run` must be an absolute path inside the "
              "container");
}

static void
test_mount_errors (void **state)
{
  pt_t pt;
  (void)state;

  plan_error (&pt,
              "services:\n  web:\n    image: a\n    volumes:\n      - /a:/data\n"
              "      - /b:/data\n",
              &busybox,
              "stack.yml:6:9: services.web.volumes[1]: `/data` is already mounted by "
              "services.web.volumes[0]; mount one thing per path");
  plan_error (&pt, "services:\n  web:\n    image: a\n    volumes: [/a:/data]\n    tmpfs: /data\n",
              &busybox,
              "stack.yml:5:12: services.web.tmpfs[0]: `/data` is already mounted by "
              "services.web.volumes[0]; mount one thing per path");
  plan_error (&pt,
              "services:\n  web:\n    image: a\n    volumes:\n      - type: image\n"
              "        source: alpine\n        target: /img\n",
              &busybox,
              "stack.yml:5:9: services.web.volumes[0]: image mounts are not supported yet; "
              "remove it");
  plan_error (&pt,
              "services:\n  web:\n    image: a\n    volumes: [nfs:/n]\n"
              "volumes:\n  nfs:\n    driver_opts: {type: nfs, o: addr=10.0.0.1, device: \":/x\"}\n",
              &busybox,
              "stack.yml:4:15: services.web.volumes[0]: volume `nfs` has driver_opts; stack "
              "only supports o: bind with device: PATH so far");
}

static void
test_image_volumes_and_secrets (void **state)
{
  static char *const vols[] = { "/var/lib/pg", "/covered", NULL };
  rt_image_config_t img = busybox;
  pt_t pt;
  char *exp;
  (void)state;

  img.volumes = (char **)vols;
  plan_ok (&pt,
           "services:\n  web:\n    image: a\n    volumes: [/h:/covered]\n"
           "    secrets: [s, {source: t, target: tt}]\n    configs: [c]\n"
           "secrets:\n  s:\n    file: ./s.txt\n  t:\n    file: /abs/t\n"
           "configs:\n  c:\n    file: ./c.conf\n",
           &img);
  exp = xasprintf ("bind:/h>/covered,create; bind:%s/c.conf>/c,ro; "
                   "bind:%s/s.txt>/run/secrets/s,ro; bind:/abs/t>/run/secrets/tt,ro; "
                   "volume:/r/volumes/test-web-1_anon_1/_data>/var/lib/pg,seed",
                   pt.t.dir, pt.t.dir);
  assert_string_equal (mounts (&pt.plan), exp);
  free (exp);
  assert_string_equal (volumes (&pt.plan),
                       "test-web-1_anon_1>/r/volumes/test-web-1_anon_1/_data,anonymous");
  pt_free (&pt);

  plan_error (&pt,
              "services:\n  web:\n    image: a\n    secrets: [s]\n"
              "secrets:\n  s:\n    environment: TOKEN\n",
              &busybox,
              "stack.yml:4:15: services.web.secrets[0]: secrets `s` is not a file; stack "
              "supports only `file:` secrets so far");
}

/* ---- what the runtime cannot do yet ---- */

static void
test_unsupported (void **state)
{
  pt_t pt;
  (void)state;

  plan_error (&pt, "services:\n  web:\n    image: a\n    devices: [/dev/fuse]\n", &busybox,
              "stack.yml:4:15: services.web.devices[0]: passing host devices into a container "
              "is not supported yet; remove `devices` (or use privileged: true, which gives "
              "every host device)");
  plan_error (&pt, "services:\n  web:\n    image: a\n    volumes_from: [db]\n  db:\n    image: b\n",
              &busybox,
              "stack.yml:4:20: services.web.volumes_from[0]: volumes_from is not supported yet; "
              "mount the same named volumes in both services instead");
  plan_error (&pt, "services:\n  web:\n    image: a\n    uts: host\n", &busybox,
              "stack.yml:4:10: services.web.uts: sharing the host's UTS namespace is not "
              "supported yet; remove `uts: host` (network_mode: host already gives the host's "
              "hostname)");
}

/* ---- networking ---- */

static const char *
ports (arena_t *a, const svc_plan_t *p)
{
  strbuf_t b = { 0 };
  char ip[16];
  const char *out;
  size_t i;

  sb_puts (&b, "");
  for (i = 0; i < p->n_ports; i++)
    sb_printf (&b, "%s%s:%u-%u>%u/%s", i ? "; " : "",
               net_addr_format (p->ports[i].host_ip, ip, sizeof ip), p->ports[i].host_lo,
               p->ports[i].host_hi, p->ports[i].container_port,
               p->ports[i].protocol == NET_UDP ? "udp" : "tcp");
  out = arena_strdup (a, b.s);
  sb_free (&b);
  return out;
}

static void
test_network_attachments_and_ports (void **state)
{
  pt_t pt;
  char ip[16];
  (void)state;

  plan_ok (&pt,
           "services:\n  web:\n    image: a\n"
           "    ports: ['8080:80', '127.0.0.1:9000-9001:90-91/udp', '5000', '127.0.0.1::22',\n"
           "            '7000-7010:70']\n"
           "    networks:\n      front: {aliases: [w1, w2], ipv4_address: 10.5.0.9}\n"
           "      default:\n"
           "    extra_hosts: ['somehost:1.2.3.4', 'gw=host-gateway']\n"
           "    links: ['db:database', db]\n"
           "    dns: 10.0.0.53\n    dns_search: [example.com]\n    dns_opt: [ndots:2]\n"
           "  db:\n    image: a\n"
           "networks:\n  front:\n    ipam: {config: [{subnet: 10.5.0.0/24}]}\n",
           &busybox);
  assert_string_equal (ports (pt.a, &pt.plan),
                       "0.0.0.0:8080-8080>80/tcp; 127.0.0.1:9000-9000>90/udp; "
                       "127.0.0.1:9001-9001>91/udp; 0.0.0.0:0-0>5000/tcp; "
                       "127.0.0.1:0-0>22/tcp; 0.0.0.0:7000-7010>70/tcp");
  assert_string_equal (pt.plan.ports[0].where, "stack.yml:4:13: services.web.ports[0]");
  /* in the order of the service's networks in the file */
  assert_int_equal (pt.plan.n_attachments, 2);
  assert_string_equal (pt.plan.attachments[0].network, "front");
  assert_string_equal (join (pt.plan.attachments[0].aliases), "w1|w2");
  assert_string_equal (net_addr_format (pt.plan.attachments[0].ipv4_address, ip, sizeof ip),
                       "10.5.0.9");
  assert_string_equal (pt.plan.attachments[1].network, "default");
  assert_null (pt.plan.attachments[1].aliases);
  assert_int_equal (pt.plan.attachments[1].ipv4_address, 0);
  assert_int_equal (pt.plan.n_extra_hosts, 2);
  assert_string_equal (pt.plan.extra_hosts[0].name, "gw");
  assert_string_equal (pt.plan.extra_hosts[0].ip, "host-gateway");
  assert_string_equal (pt.plan.extra_hosts[1].name, "somehost");
  assert_string_equal (pt.plan.extra_hosts[1].ip, "1.2.3.4");
  /* "db" alone adds no name: every service resolves already */
  assert_int_equal (pt.plan.n_links, 1);
  assert_string_equal (pt.plan.links[0].name, "database");
  assert_string_equal (pt.plan.links[0].ip, "db");
  assert_string_equal (join (pt.plan.dns), "10.0.0.53");
  assert_string_equal (join (pt.plan.dns_search), "example.com");
  assert_string_equal (join (pt.plan.dns_opt), "ndots:2");
  pt_free (&pt);

  /* host and none: Docker discards published ports */
  plan_ok (&pt, "services:\n  web:\n    image: a\n    network_mode: host\n    ports: ['80:80']\n",
           &busybox);
  assert_int_equal (pt.plan.n_ports, 0);
  assert_int_equal (pt.plan.n_attachments, 0);
  pt_free (&pt);
}

static void
test_network_errors (void **state)
{
  plan_network_t *nets;
  size_t n;
  pt_t pt;
  (void)state;

  plan_error (&pt,
              "services:\n  web:\n    image: a\n    network_mode: service:db\n"
              "    ports: ['80:80']\n  db:\n    image: a\n",
              &busybox,
              "stack.yml:5:13: services.web.ports[0]: a service that shares the network of "
              "`db` cannot publish ports; publish them on `db`");
  plan_error (&pt, "services:\n  web:\n    image: a\n    ports: ['[::1]:80:80']\n", &busybox,
              "stack.yml:4:13: services.web.ports[0].host_ip: `::1`: IPv6 host addresses are "
              "not supported yet; publish on an IPv4 address such as 127.0.0.1");
  plan_error (&pt,
              "services:\n  web:\n    image: a\n    ports:\n      - {target: 80, protocol: sctp}\n",
              &busybox,
              "stack.yml:5:9: services.web.ports[0].protocol: `sctp` is not supported; use tcp "
              "or udp");
  plan_error (&pt,
              "services:\n  web:\n    image: a\n    networks:\n      n: {ipv4_address: 10.0.0.5}\n"
              "networks:\n  n: {}\n",
              &busybox,
              "stack.yml:5:25: services.web.networks.n.ipv4_address: a fixed address needs the "
              "network's subnet: give `networks.n.ipam.config[0].subnet`");
  plan_error (&pt,
              "services:\n  web:\n    image: a\n    networks:\n      n: {ipv4_address: 10.0.1.5}\n"
              "networks:\n  n:\n    ipam: {config: [{subnet: 10.0.0.0/24}]}\n",
              &busybox,
              "stack.yml:5:25: services.web.networks.n.ipv4_address: `10.0.1.5` is not a free "
              "host address of the subnet `10.0.0.0/24` (the first one is the gateway's)");
  plan_error (&pt,
              "services:\n  web:\n    image: a\n    networks:\n      n: {ipv4_address: 10.0.0.1}\n"
              "networks:\n  n:\n    ipam: {config: [{subnet: 10.0.0.0/24}]}\n",
              &busybox,
              "stack.yml:5:25: services.web.networks.n.ipv4_address: `10.0.0.1` is not a free "
              "host address of the subnet `10.0.0.0/24` (the first one is the gateway's)");

  /* the project's networks: only those used, bridge driver only */
  assert_int_equal (th_load (&pt.t, "services:\n  web:\n    image: a\n    networks: [b]\n"
                                    "networks:\n  a: {}\n  b:\n    internal: true\n"
                                    "    ipam: {config: [{subnet: 10.9.0.0/16, gateway: "
                                    "10.9.3.4}]}\n"),
                    0);
  pt.a = arena_new ();
  assert_int_equal (plan_networks (pt.a, pt.t.p, &nets, &n, &pt.err), 0);
  assert_int_equal (n, 1);
  assert_string_equal (nets[0].key, "b");
  assert_string_equal (nets[0].name, "test_b");
  assert_true (nets[0].internal);
  assert_false (nets[0].external);
  assert_int_equal (nets[0].subnet.addr, 0x0a090000);
  assert_int_equal (nets[0].subnet.len, 16);
  assert_int_equal (nets[0].gateway, 0x0a090304);
  pt_free (&pt);

  assert_int_equal (th_load (&pt.t, "services:\n  web:\n    image: a\n    networks: [b]\n"
                                    "networks:\n  b:\n    driver: overlay\n"),
                    0);
  pt.a = arena_new ();
  assert_int_equal (plan_networks (pt.a, pt.t.p, &nets, &n, &pt.err), -1);
  assert_string_equal (pt.err->msg, "stack.yml:7:13: networks.b.driver: the `overlay` driver is "
                                    "not supported: stack makes bridge networks on this "
                                    "machine; remove `driver`");
  pt_free (&pt);

  assert_int_equal (th_load (&pt.t, "services:\n  web:\n    image: a\n    networks: [b]\n"
                                    "networks:\n  b:\n    ipam: {config: [{subnet: 10.9.0.0/24, "
                                    "gateway: 10.9.1.1}]}\n"),
                    0);
  pt.a = arena_new ();
  assert_int_equal (plan_networks (pt.a, pt.t.p, &nets, &n, &pt.err), -1);
  assert_string_equal (pt.err->msg, "stack.yml:7:52: networks.b.ipam.config[0].gateway: "
                                    "`10.9.1.1` is not a host address of the subnet "
                                    "`10.9.0.0/24`");
  pt_free (&pt);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_argv_matrix),
    cmocka_unit_test (test_argv_none_is_an_error),
    cmocka_unit_test (test_env_order_and_replacement),
    cmocka_unit_test (test_env_from_os),
    cmocka_unit_test (test_identity_and_paths),
    cmocka_unit_test (test_hostname_cut_at_63),
    cmocka_unit_test (test_stop_signal_and_grace),
    cmocka_unit_test (test_signal_parse),
    cmocka_unit_test (test_memory_limits),
    cmocka_unit_test (test_cpu_and_other_limits),
    cmocka_unit_test (test_ulimits),
    cmocka_unit_test (test_capabilities),
    cmocka_unit_test (test_security_opt),
    cmocka_unit_test (test_sysctls),
    cmocka_unit_test (test_namespaces),
    cmocka_unit_test (test_mounts_in_order),
    cmocka_unit_test (test_mounts_sorted_parents_first),
    cmocka_unit_test (test_tmpfs),
    cmocka_unit_test (test_mount_errors),
    cmocka_unit_test (test_image_volumes_and_secrets),
    cmocka_unit_test (test_unsupported),
    cmocka_unit_test (test_network_attachments_and_ports),
    cmocka_unit_test (test_network_errors),
    cmocka_unit_test (test_restart_policies),
    cmocka_unit_test (test_healthcheck),
    cmocka_unit_test (test_healthcheck_from_image),
    cmocka_unit_test (test_depends_on_conditions),
    cmocka_unit_test (test_logging),
    cmocka_unit_test (test_config_hash),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
