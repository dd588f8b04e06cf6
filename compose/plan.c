/* plan.c — one service of the normalized model turned into a
   container_spec: the process (argv, env, user, cwd, hostname), how it is
   stopped, which namespaces it shares; limits and security live in
   plan-limits.c, mounts and volumes in plan-mounts.c.

   Docker is the reference throughout: where it and plan-internal.h's
   comment disagree (entrypoint/command merging, the cap_add/cap_drop
   order), the code follows Docker and says so. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plan-ctx-internal.h"

/* Docker's default when neither the image nor the service sets PATH
   (moby's oci.DefaultPathEnv): imported rootfs images have no Env at all. */
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- helpers shared with plan-limits.c and plan-mounts.c ---- */

int
plan_fail (plan_ctx_t *c, const node_t *at, const char *path, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  /* no strerror (EINVAL) tail: it says nothing to someone fixing a stack
     file */
  if (at && at->mark.src)
    return stack_error_set (c->err, EINVAL, "%s:%u:%u: %s: %s", at->mark.src->path, at->mark.line,
                            at->mark.col, path, msg);
  return stack_error_set (c->err, EINVAL, "%s: %s", path, msg);
}

const char *
plan_key (plan_ctx_t *c, const char *key)
{
  return path_key (c->a, c->path, key);
}

const node_t *
plan_get (plan_ctx_t *c, const char *key)
{
  const node_t *n = node_map_get (c->svc, key);
  return n && n->kind != N_NULL ? n : NULL;
}

int64_t
plan_int64 (const node_t *n)
{
  long long i;
  double d;

  /* normalization has typed every number; absent is 0 */
  if (scalar_to_int (n, &i))
    return i;
  return scalar_to_double (n, &d) ? (int64_t)d : 0;
}

double
plan_double (const node_t *n)
{
  double d;
  return scalar_to_double (n, &d) ? d : 0;
}

static const char *
str_of (plan_ctx_t *c, const char *key)
{
  const node_t *n = plan_get (c, key);
  return n ? node_text (c->a, n) : NULL;
}

static bool
bool_of (plan_ctx_t *c, const char *key)
{
  const node_t *n = plan_get (c, key);
  return n && n->kind == N_BOOL && n->b;
}

static size_t
strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

const char *const *
plan_strv (plan_ctx_t *c, const node_t *seq)
{
  const char **v;
  size_t i;

  if (seq == NULL || seq->kind != N_SEQ || seq->len == 0)
    return NULL;
  v = arena_alloc (c->a, (seq->len + 1) * sizeof *v);
  for (i = 0; i < seq->len; i++)
    v[i] = node_text (c->a, seq->items[i]);
  return v;
}

/* ---- signals ---- */

static const struct
{
  const char *name;
  int sig;
} signals[] = {
  { "HUP", SIGHUP },       { "INT", SIGINT },   { "QUIT", SIGQUIT },     { "ILL", SIGILL },
  { "TRAP", SIGTRAP },     { "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },
  { "FPE", SIGFPE },       { "KILL", SIGKILL }, { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
  { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },     { "TERM", SIGTERM },
  { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },     { "STOP", SIGSTOP },
  { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },     { "URG", SIGURG },
  { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
  { "WINCH", SIGWINCH },   { "IO", SIGIO },     { "POLL", SIGPOLL },     { "PWR", SIGPWR },
  { "SYS", SIGSYS },
};

/* "+3" / "-2" after RTMIN / RTMAX: a small offset, or -1. */
static int
rt_offset (const char *s)
{
  char *end;
  long v;

  if (*s == '\0')
    return 0;
  if ((*s != '+' && *s != '-') || !isdigit ((unsigned char)s[1]))
    return -1;
  v = strtol (s + 1, &end, 10);
  if (*end != '\0' || v > 64)
    return -1;
  return (int)(*s == '-' ? -v : v);
}

int
plan_signal_parse (const char *s)
{
  const char *name;
  size_t i;
  int off;

  if (s == NULL || *s == '\0')
    return -1;
  if (isdigit ((unsigned char)*s))
    {
      char *end;
      long v = strtol (s, &end, 10);
      /* Docker refuses 0; the kernel knows 1..SIGRTMAX */
      return *end == '\0' && v >= 1 && v <= SIGRTMAX ? (int)v : -1;
    }
  /* as moby's signal.ParseSignal: case-insensitive, "SIG" optional */
  name = strncasecmp (s, "SIG", 3) == 0 ? s + 3 : s;
  for (i = 0; i < ARRAY_SIZE (signals); i++)
    if (strcasecmp (name, signals[i].name) == 0)
      return signals[i].sig;
  if (strncasecmp (name, "RTMIN", 5) == 0 && (off = rt_offset (name + 5)) >= 0
      && SIGRTMIN + off <= SIGRTMAX)
    return SIGRTMIN + off;
  if (strncasecmp (name, "RTMAX", 5) == 0 && (off = rt_offset (name + 5)) <= 0 && off > -64
      && (name[5] == '\0' || name[5] == '-') && SIGRTMAX + off >= SIGRTMIN)
    return SIGRTMAX + off;
  return -1;
}

static int
plan_stop (plan_ctx_t *c)
{
  const node_t *sig = plan_get (c, "stop_signal"), *grace = plan_get (c, "stop_grace_period");

  c->out->stop_signal = SIGTERM;
  if (sig)
    {
      const char *s = node_text (c->a, sig);
      if ((c->out->stop_signal = plan_signal_parse (s)) < 0)
        return plan_fail (c, sig, plan_key (c, "stop_signal"),
                          "`%s` is not a signal; use a name such as SIGTERM or SIGQUIT, or a "
                          "number",
                          s);
    }
  else if (c->img->stop_signal && *c->img->stop_signal)
    {
      if ((c->out->stop_signal = plan_signal_parse (c->img->stop_signal)) < 0)
        return plan_fail (c, NULL, c->path,
                          "the image's StopSignal `%s` is not a signal; set `stop_signal` in "
                          "the service",
                          c->img->stop_signal);
    }

  c->out->stop_grace_ns = 10LL * 1000000000LL;
  if (grace && !duration_parse (node_text (c->a, grace), &c->out->stop_grace_ns))
    return plan_fail (c, grace, plan_key (c, "stop_grace_period"), "`%s` is not a duration",
                      node_text (c->a, grace));
  return 0;
}

/* ---- the process ---- */

/* moby's merge of the container config with the image's (daemon/commit.go):
   a non-empty service entrypoint drops both of the image's; an empty one
   (`entrypoint: ""` or []) drops the image's entrypoint but keeps its Cmd
   when the service has no command; an empty command is no command, so the
   image's Cmd applies. */
static int
plan_argv (plan_ctx_t *c)
{
  const node_t *ep = node_map_get (c->svc, "entrypoint"), *cmd = node_map_get (c->svc, "command");
  char *const *img_ep = NULL, *const *img_cmd = NULL;
  size_t n_ep = ep && ep->kind == N_SEQ ? ep->len : 0;
  size_t n_cmd = cmd && cmd->kind == N_SEQ ? cmd->len : 0;
  size_t i, n = 0, total;
  const char **argv;

  if (n_ep == 0)
    {
      if (n_cmd == 0)
        img_cmd = c->img->cmd;
      if (ep == NULL || ep->kind != N_SEQ)
        img_ep = c->img->entrypoint;
    }
  total = (img_ep ? strv_len (img_ep) : n_ep) + (img_cmd ? strv_len (img_cmd) : n_cmd);
  if (total == 0)
    return plan_fail (c, c->svc, c->path,
                      "no command to run: the image `%s` has neither Entrypoint nor Cmd; set "
                      "`command` (or `entrypoint`) in the service",
                      c->out->image);
  argv = arena_alloc (c->a, (total + 1) * sizeof *argv);
  if (img_ep)
    for (i = 0; img_ep[i]; i++)
      argv[n++] = arena_strdup (c->a, img_ep[i]);
  else
    for (i = 0; i < n_ep; i++)
      argv[n++] = node_text (c->a, ep->items[i]);
  if (img_cmd)
    for (i = 0; img_cmd[i]; i++)
      argv[n++] = arena_strdup (c->a, img_cmd[i]);
  else
    for (i = 0; i < n_cmd; i++)
      argv[n++] = node_text (c->a, cmd->items[i]);
  c->out->spec.argv = argv;
  return 0;
}

typedef struct envv
{
  const char **v;
  size_t n;
} envv_t;

static ssize_t
env_find (const envv_t *e, const char *key, size_t klen)
{
  size_t i;
  for (i = 0; i < e->n; i++)
    if (strncmp (e->v[i], key, klen) == 0 && (e->v[i][klen] == '=' || e->v[i][klen] == '\0'))
      return (ssize_t)i;
  return -1;
}

/* Set "K=V" (replacing K in place) or, with value NULL, remove K. */
static void
env_put (plan_ctx_t *c, envv_t *e, const char *key, size_t klen, const char *value)
{
  ssize_t i = env_find (e, key, klen);
  const char *kv = value ? arena_printf (c->a, "%.*s=%s", (int)klen, key, value) : NULL;

  if (i < 0 && kv)
    e->v[e->n++] = kv;
  else if (i >= 0 && kv)
    e->v[i] = kv;
  else if (i >= 0)
    {
      memmove (&e->v[i], &e->v[i + 1], (e->n - (size_t)i - 1) * sizeof *e->v);
      e->v[--e->n] = NULL;
    }
}

/* Docker's order (moby's CreateDaemonEnvironment): PATH and HOSTNAME (and
   TERM with a tty) first, then the image's Env, then the service's, each
   replacing a variable of the same name in place. A service variable
   without a value that normalization could not find in the OS
   environment unsets it, image value included, as Docker does. */
static void
plan_env (plan_ctx_t *c)
{
  const node_t *env = plan_get (c, "environment");
  size_t cap = 4 + strv_len (c->img->env) + (env && env->kind == N_MAP ? env->len : 0);
  envv_t e = { arena_alloc (c->a, cap * sizeof (char *)), 0 };
  size_t i;

  e.v[e.n++] = DEFAULT_PATH;
  if (c->out->spec.hostname)
    e.v[e.n++] = arena_printf (c->a, "HOSTNAME=%s", c->out->spec.hostname);
  if (c->out->spec.tty)
    e.v[e.n++] = "TERM=xterm";
  for (i = 0; c->img->env && c->img->env[i]; i++)
    {
      const char *kv = c->img->env[i], *eq = strchr (kv, '=');
      if (eq && eq != kv)
        env_put (c, &e, kv, (size_t)(eq - kv), eq + 1);
    }
  for (i = 0; env && env->kind == N_MAP && i < env->len; i++)
    {
      const node_entry_t *en = &env->entries[i];
      const char *v = en->value && en->value->kind != N_NULL ? node_text (c->a, en->value) : NULL;
      env_put (c, &e, en->key, strlen (en->key), v);
    }
  c->out->spec.env = e.v;
}

/* ---- namespaces ---- */

static int
plan_ns (plan_ctx_t *c, const char *key, enum plan_ns *mode, const char **service)
{
  const node_t *n = plan_get (c, key);
  const char *s = n ? node_text (c->a, n) : NULL;

  *mode = PLAN_NS_PRIVATE;
  *service = NULL;
  if (s == NULL || *s == '\0' || strcmp (s, "bridge") == 0 || strcmp (s, "default") == 0
      || strcmp (s, "private") == 0 || strcmp (s, "shareable") == 0)
    return 0;
  if (strcmp (s, "host") == 0)
    *mode = PLAN_NS_HOST;
  else if (strcmp (s, "none") == 0)
    /* network_mode: none is a netns with only lo; ipc: none is a private
       ipc namespace (Docker then leaves out /dev/shm, which we keep) */
    *mode = strcmp (key, "network_mode") == 0 ? PLAN_NS_NONE : PLAN_NS_PRIVATE;
  else if (str_has_prefix (s, "service:") || str_has_prefix (s, "container:"))
    {
      /* container:NAME is a container of this project for now */
      *mode = PLAN_NS_SERVICE;
      *service = strchr (s, ':') + 1;
    }
  else
    return plan_fail (c, n, plan_key (c, key), "`%s` is not a mode stack knows", s);
  return 0;
}

static int
plan_namespaces (plan_ctx_t *c)
{
  svc_plan_t *o = c->out;
  const node_t *uts = plan_get (c, "uts");

  if (plan_ns (c, "network_mode", &o->net, &o->net_service) < 0
      || plan_ns (c, "ipc", &o->ipc, &o->ipc_service) < 0
      || plan_ns (c, "pid", &o->pid, &o->pid_service) < 0)
    return -1;
  o->spec.host_net = o->net == PLAN_NS_HOST;
  o->spec.host_ipc = o->ipc == PLAN_NS_HOST;
  o->spec.host_pid = o->pid == PLAN_NS_HOST;
  /* container_spec has no way to stay in the host's UTS namespace */
  if (uts && strcmp (node_text (c->a, uts), "host") == 0)
    return plan_fail (c, uts, plan_key (c, "uts"),
                      "sharing the host's UTS namespace is not supported yet; remove `uts: "
                      "host` (network_mode: host already gives the host's hostname)");
  return 0;
}

/* ---- identity ---- */

static void
plan_identity (plan_ctx_t *c)
{
  container_spec_t *sp = &c->out->spec;
  const char *hostname = str_of (c, "hostname");
  const char *v;

  if (hostname == NULL && (c->out->net == PLAN_NS_PRIVATE || c->out->net == PLAN_NS_NONE))
    /* Docker uses the first 12 hex digits of its id; our container id is
       the name users see in `ps` and on the network. A hostname is at most
       63 bytes (HOST_NAME_MAX). */
    hostname = arena_strndup (c->a, c->paths->container_id, strnlen (c->paths->container_id, 63));
  /* network_mode host or service:NAME without a hostname: none of our own,
     so the one the UTS namespace starts with (the host's), as Docker does
     for host; for service:NAME Docker copies that container's hostname,
     which the lifecycle may set */
  sp->hostname = hostname;
  sp->domainname = str_of (c, "domainname");
  sp->tty = bool_of (c, "tty");
  sp->init = bool_of (c, "init");
  c->out->stdin_open = bool_of (c, "stdin_open");

  v = str_of (c, "user");
  if (v == NULL && c->img->user && *c->img->user)
    v = arena_strdup (c->a, c->img->user);
  sp->user = v && *v ? v : NULL;
  v = str_of (c, "working_dir");
  if (v == NULL && c->img->working_dir && *c->img->working_dir)
    v = arena_strdup (c->a, c->img->working_dir);
  sp->cwd = v && *v ? v : NULL;
  sp->group_add = plan_strv (c, plan_get (c, "group_add"));
}

/* ---- what the runtime cannot do yet: refused, not silently dropped ---- */

static int
plan_unsupported (plan_ctx_t *c)
{
  const node_t *n;

  if ((n = plan_get (c, "devices")) && n->kind == N_SEQ && n->len > 0)
    return plan_fail (c, n->items[0], path_index (c->a, plan_key (c, "devices"), 0),
                      "passing host devices into a container is not supported yet; remove "
                      "`devices` (or use privileged: true, which gives every host device)");
  /* the other container's anonymous volumes are named after its id,
     which only the lifecycle knows */
  if ((n = plan_get (c, "volumes_from")) && n->kind == N_SEQ && n->len > 0)
    return plan_fail (c, n->items[0], path_index (c->a, plan_key (c, "volumes_from"), 0),
                      "volumes_from is not supported yet; mount the same named volumes in both "
                      "services instead");
  if ((n = plan_get (c, "userns_mode")) && *node_text (c->a, n))
    return plan_fail (c, n, plan_key (c, "userns_mode"),
                      "user namespaces are not supported yet; remove it");
  return 0;
}

int
plan_service (arena_t *a, const compose_project_t *p, const compose_service_t *s,
              const rt_image_config_t *img, const plan_paths_t *paths, svc_plan_t *out,
              stack_error_t **err)
{
  static const rt_image_config_t no_image = { 0 };
  plan_ctx_t c = { .a = a,
                   .p = p,
                   .s = s,
                   .svc = s->node,
                   .path = path_key (a, "services", s->name),
                   .img = img ? img : &no_image,
                   .paths = paths,
                   .out = out,
                   .err = err };
  container_spec_t *sp = &out->spec;
  const char *image;

  memset (out, 0, sizeof *out);
  image = str_of (&c, "image");
  /* a service with only `build:` runs the image compose names after it */
  out->image = image ? image : arena_printf (a, "%s-%s", p->name, s->name);

  sp->id = paths->container_id;
  sp->cgroup_path = paths->cgroup_path;
  sp->rootfs_dir = arena_printf (a, "%s/rootfs", paths->container_dir);
  sp->upper_dir = arena_printf (a, "%s/upper", paths->container_dir);
  sp->work_dir = arena_printf (a, "%s/work", paths->container_dir);
  sp->hosts_file = arena_printf (a, "%s/hosts", paths->container_dir);
  sp->hostname_file = arena_printf (a, "%s/hostname", paths->container_dir);
  sp->resolv_file = arena_printf (a, "%s/resolv.conf", paths->container_dir);
  sp->stdin_fd = sp->stdout_fd = sp->stderr_fd = -1;

  if (plan_unsupported (&c) < 0 || plan_namespaces (&c) < 0)
    return -1;
  plan_identity (&c);
  if (plan_argv (&c) < 0)
    return -1;
  plan_env (&c);
  if (plan_stop (&c) < 0 || plan_limits (&c) < 0 || plan_security (&c) < 0 || plan_mounts (&c) < 0
      || plan_network (&c) < 0 || plan_run (&c) < 0)
    return -1;
  return 0;
}
