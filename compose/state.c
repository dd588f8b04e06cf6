/* state.c — the project's state file, its lock, and the named volumes'
   ownership records. See state-internal.h for the layout. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state-internal.h"

#define STATE_VERSION 1

const char *
stack_root (void)
{
  const char *root = getenv ("STACK_ROOT");
  return root && root[0] ? root : "/var/lib/stack";
}

const char *
stack_run (void)
{
  const char *run = getenv ("STACK_RUN");
  return run && run[0] ? run : "/run/stack";
}

char *
state_volumes_dir (void)
{
  return xasprintf ("%s/volumes", stack_root ());
}

char *
state_container_dir (const char *name)
{
  return xasprintf ("%s/containers/%s", stack_root (), name);
}

char *
state_run_dir (const char *project)
{
  return xasprintf ("%s/%s", stack_run (), project);
}

const char *
st_state_name (enum st_state s)
{
  switch (s)
    {
    case ST_RUNNING:
      return "running";
    case ST_EXITED:
      return "exited";
    case ST_RESTARTING:
      return "restarting";
    default:
      return "created";
    }
}

static enum st_state
st_state_parse (const char *s)
{
  if (s && strcmp (s, "running") == 0)
    return ST_RUNNING;
  if (s && strcmp (s, "exited") == 0)
    return ST_EXITED;
  if (s && strcmp (s, "restarting") == 0)
    return ST_RESTARTING;
  return ST_CREATED;
}

const char *
st_health_name (enum st_health h)
{
  static const char *const names[] = { NULL, "starting", "healthy", "unhealthy" };
  return (unsigned)h < ARRAY_SIZE (names) ? names[h] : NULL;
}

static enum st_health
st_health_parse (const char *s)
{
  enum st_health h;
  for (h = ST_HEALTH_STARTING; s && h <= ST_HEALTH_UNHEALTHY; h++)
    if (strcmp (s, st_health_name (h)) == 0)
      return h;
  return ST_HEALTH_NONE;
}

/* ---- processes ---- */

uint64_t
proc_start_time (pid_t pid)
{
  char path[64], text[1024], *p;
  cleanup_close int fd = -1;
  ssize_t n;
  int field;

  if (pid <= 0)
    return 0;
  snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
  if ((fd = open (path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read (fd, text, sizeof text - 1)) <= 0)
    return 0;
  text[n] = '\0';
  /* the command name in parentheses may hold spaces and parentheses:
     count fields from the last ')', the end of field 2; starttime is 22 */
  p = strrchr (text, ')');
  for (field = 2; p && field < 22; field++)
    p = strchr (p + 1, ' ');
  return p ? strtoull (p + 1, NULL, 10) : 0;
}

bool
st_container_alive (const st_container_t *c)
{
  return c->pid > 0 && c->start_time != 0 && proc_start_time (c->pid) == c->start_time;
}

/* ---- the lock ---- */

int
state_lock (const char *run_dir, int *fd, stack_error_t **err)
{
  cleanup_free char *path = xasprintf ("%s/lock", run_dir);
  cleanup_close int lfd = -1;

  if (mkdir_p (run_dir, 0700) < 0)
    return stack_error_make (err, errno, "create `%s`", run_dir);
  lfd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lfd < 0)
    return stack_error_make (err, errno, "open `%s`", path);
  if (flock (lfd, LOCK_EX | LOCK_NB) < 0)
    {
      if (errno == EWOULDBLOCK)
        return 1;
      return stack_error_make (err, errno, "lock `%s`", path);
    }
  *fd = steal_fd (&lfd);
  return 0;
}

/* ---- JSON ---- */

static json_t *
jstr (const char *s)
{
  return s ? json_string (s) : json_null ();
}

static char *
jdup (json_t *o, const char *key)
{
  const char *s = json_string_value (json_object_get (o, key));
  return s ? xstrdup (s) : NULL;
}

static json_t *
container_to_json (const st_container_t *c)
{
  json_t *o = json_object ();

  json_object_set_new (o, "service", jstr (c->service));
  json_object_set_new (o, "name", jstr (c->name));
  json_object_set_new (o, "image", jstr (c->image));
  json_object_set_new (o, "image_id", jstr (c->image_id));
  json_object_set_new (o, "dir", jstr (c->dir));
  json_object_set_new (o, "cgroup", jstr (c->cgroup));
  json_object_set_new (o, "state", json_string (st_state_name (c->state)));
  json_object_set_new (o, "pid", json_integer (c->pid));
  json_object_set_new (o, "start_time", json_integer ((json_int_t)c->start_time));
  json_object_set_new (o, "exit_code", json_integer (c->exit_code));
  json_object_set_new (o, "oom_killed", json_boolean (c->oom_killed));
  json_object_set_new (o, "restarts", json_integer (c->restarts));
  json_object_set_new (o, "health", jstr (st_health_name (c->health)));
  json_object_set_new (o, "failing_streak", json_integer (c->failing_streak));
  json_object_set (o, "health_log", c->health_log ? c->health_log : json_null ());
  json_object_set_new (o, "config_hash", jstr (c->config_hash));
  json_object_set_new (o, "started_at", json_integer (c->started_at));
  json_object_set_new (o, "finished_at", json_integer (c->finished_at));
  json_object_set_new (o, "stop_signal", json_integer (c->stop_signal));
  json_object_set_new (o, "stop_grace_ns", json_integer (c->stop_grace_ns));
  json_object_set (o, "process", c->process ? c->process : json_null ());
  json_object_set (o, "endpoints", c->endpoints ? c->endpoints : json_null ());
  json_object_set (o, "ports", c->ports ? c->ports : json_null ());
  if (c->exposed)
    json_object_set (o, "exposed", c->exposed);
  return o;
}

/* A name that becomes part of a path must be one path component. */
static bool
component_valid (const char *s)
{
  return s && s[0] && strcmp (s, ".") != 0 && strcmp (s, "..") != 0 && strchr (s, '/') == NULL;
}

/* down deletes these links by name: only ever one of ours */
static bool
link_ours (const char *name)
{
  return name && str_has_prefix (name, "stk") && strlen (name) < 16;
}

static bool
endpoints_valid (json_t *a)
{
  json_t *e;
  size_t i;

  json_array_foreach (a, i, e)
  {
    if (!link_ours (json_string_value (json_object_get (e, "host_ifname"))))
      return false;
  }
  return true;
}

static json_t *
network_to_json (const st_network_t *n)
{
  return json_pack ("{s:o s:o s:o s:o s:o s:b s:b}", "key", jstr (n->key), "name", jstr (n->name),
                    "bridge", jstr (n->bridge), "subnet", jstr (n->subnet), "gateway",
                    jstr (n->gateway), "created", n->created, "internal", n->internal);
}

static int
network_from_json (json_t *o, st_network_t *n, stack_error_t **err)
{
  n->key = jdup (o, "key");
  n->name = jdup (o, "name");
  n->bridge = jdup (o, "bridge");
  n->subnet = jdup (o, "subnet");
  n->gateway = jdup (o, "gateway");
  n->created = json_is_true (json_object_get (o, "created"));
  n->internal = json_is_true (json_object_get (o, "internal"));
  if (n->key == NULL || n->name == NULL || n->bridge == NULL || (n->created && !link_ours (n->bridge)))
    return stack_error_make (err, EIO, "network entry `%s` is damaged", n->name ? n->name : "?");
  return 0;
}

static int
container_from_json (json_t *o, st_container_t *c, stack_error_t **err)
{
  c->service = jdup (o, "service");
  c->name = jdup (o, "name");
  c->image = jdup (o, "image");
  c->image_id = jdup (o, "image_id");
  c->dir = jdup (o, "dir");
  c->cgroup = jdup (o, "cgroup");
  c->state = st_state_parse (json_string_value (json_object_get (o, "state")));
  c->pid = (pid_t)json_integer_value (json_object_get (o, "pid"));
  c->start_time = (uint64_t)json_integer_value (json_object_get (o, "start_time"));
  c->exit_code = (int)json_integer_value (json_object_get (o, "exit_code"));
  c->oom_killed = json_is_true (json_object_get (o, "oom_killed"));
  c->restarts = (unsigned)json_integer_value (json_object_get (o, "restarts"));
  c->health = st_health_parse (json_string_value (json_object_get (o, "health")));
  c->failing_streak = (unsigned)json_integer_value (json_object_get (o, "failing_streak"));
  c->health_log = json_incref (json_object_get (o, "health_log"));
  c->config_hash = jdup (o, "config_hash");
  c->started_at = json_integer_value (json_object_get (o, "started_at"));
  c->finished_at = json_integer_value (json_object_get (o, "finished_at"));
  c->stop_signal = (int)json_integer_value (json_object_get (o, "stop_signal"));
  c->stop_grace_ns = json_integer_value (json_object_get (o, "stop_grace_ns"));
  c->process = json_incref (json_object_get (o, "process"));
  c->endpoints = json_incref (json_object_get (o, "endpoints"));
  c->ports = json_incref (json_object_get (o, "ports"));
  c->exposed = json_incref (json_object_get (o, "exposed"));
  /* what down removes must be ours: a damaged file must not send us
     elsewhere */
  if (!endpoints_valid (c->endpoints) || c->service == NULL || !component_valid (c->name) || c->dir == NULL
      || !str_has_suffix (c->dir, c->name) || c->cgroup == NULL
      || !str_has_prefix (c->cgroup, "stack/") || strstr (c->cgroup, "..") != NULL)
    return stack_error_make (err, EIO, "container entry `%s` is damaged", c->name ? c->name : "?");
  return 0;
}

int
state_save (const state_t *st, const char *run_dir, stack_error_t **err)
{
  cleanup_free char *path = xasprintf ("%s/state.json", run_dir);
  cleanup_free char *tmp = xasprintf ("%s/.state.json.tmp", run_dir);
  cleanup_free char *text = NULL;
  cleanup_close int fd = -1;
  json_t *o = json_object (), *cs = json_array (), *vs = json_array (), *ns = json_array ();
  size_t i, len;
  const char *p;

  json_object_set_new (o, "version", json_integer (STATE_VERSION));
  json_object_set_new (o, "project", jstr (st->project));
  json_object_set_new (o, "project_dir", jstr (st->project_dir));
  json_object_set_new (o, "supervisor_pid", json_integer (st->supervisor_pid));
  json_object_set_new (o, "supervisor_start", json_integer ((json_int_t)st->supervisor_start));
  for (i = 0; i < st->n_containers; i++)
    json_array_append_new (cs, container_to_json (&st->containers[i]));
  for (i = 0; i < st->n_volumes; i++)
    {
      json_t *v = json_object ();
      json_object_set_new (v, "name", jstr (st->volumes[i].name));
      json_object_set_new (v, "dir", jstr (st->volumes[i].dir));
      json_object_set_new (v, "anonymous", json_boolean (st->volumes[i].anonymous));
      json_array_append_new (vs, v);
    }
  for (i = 0; i < st->n_networks; i++)
    json_array_append_new (ns, network_to_json (&st->networks[i]));
  json_object_set_new (o, "containers", cs);
  json_object_set_new (o, "volumes", vs);
  json_object_set_new (o, "networks", ns);
  json_object_set_new (o, "rules", json_boolean (st->rules));
  text = json_dumps (o, JSON_INDENT (2));
  json_decref (o);
  if (text == NULL)
    return stack_error_make (err, ENOMEM, "serialize the state");

  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return stack_error_make (err, errno, "write `%s`", tmp);
  for (p = text, len = strlen (text); len > 0;)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return stack_error_make (err, errno, "write `%s`", tmp);
      p += n;
      len -= (size_t)n;
    }
  /* the file must be whole on disk before its name says it is the state */
  if (fsync (fd) < 0 || rename (tmp, path) < 0)
    return stack_error_make (err, errno, "write `%s`", path);
  return 0;
}

int
state_load (const char *run_dir, state_t **out, stack_error_t **err)
{
  cleanup_free char *path = xasprintf ("%s/state.json", run_dir);
  json_error_t jerr;
  json_t *o, *a, *e;
  state_t *st;
  size_t i;

  *out = NULL;
  o = json_load_file (path, JSON_REJECT_DUPLICATES, &jerr);
  if (o == NULL)
    {
      if (access (path, F_OK) < 0 && errno == ENOENT)
        return 0;
      return stack_error_make (err, EIO, "`%s`:%d: %s", path, jerr.line, jerr.text);
    }
  if (json_integer_value (json_object_get (o, "version")) != STATE_VERSION)
    {
      json_decref (o);
      return stack_error_make (err, EIO, "`%s`: unknown version", path);
    }
  st = xzalloc (sizeof *st);
  st->project = jdup (o, "project");
  st->project_dir = jdup (o, "project_dir");
  st->supervisor_pid = (pid_t)json_integer_value (json_object_get (o, "supervisor_pid"));
  st->supervisor_start = (uint64_t)json_integer_value (json_object_get (o, "supervisor_start"));
  a = json_object_get (o, "containers");
  st->containers = xzalloc ((json_array_size (a) + 1) * sizeof *st->containers);
  json_array_foreach (a, i, e)
  {
    st->n_containers++;
    if (container_from_json (e, &st->containers[i], err) < 0)
      goto damaged;
  }
  a = json_object_get (o, "volumes");
  st->volumes = xzalloc ((json_array_size (a) + 1) * sizeof *st->volumes);
  json_array_foreach (a, i, e)
  {
    st_volume_t *v = &st->volumes[st->n_volumes++];
    v->name = jdup (e, "name");
    v->dir = jdup (e, "dir");
    v->anonymous = json_is_true (json_object_get (e, "anonymous"));
    if (!component_valid (v->name) || v->dir == NULL)
      {
        stack_error_make (err, EIO, "volume entry `%s` is damaged", v->name ? v->name : "?");
        goto damaged;
      }
  }
  a = json_object_get (o, "networks");
  st->networks = xzalloc ((json_array_size (a) + 1) * sizeof *st->networks);
  json_array_foreach (a, i, e)
  {
    st->n_networks++;
    if (network_from_json (e, &st->networks[i], err) < 0)
      goto damaged;
  }
  st->rules = json_is_true (json_object_get (o, "rules"));
  json_decref (o);
  *out = st;
  return 0;

damaged:
  json_decref (o);
  state_free (st);
  return stack_error_wrap (err, "`%s`", path);
}

st_container_t *
state_add_container (state_t *st)
{
  st_container_t *c;

  st->containers = xrealloc (st->containers, (st->n_containers + 1) * sizeof *st->containers);
  c = &st->containers[st->n_containers++];
  memset (c, 0, sizeof *c);
  c->exit_code = -1;
  return c;
}

st_network_t *
state_add_network (state_t *st)
{
  st_network_t *n;

  st->networks = xrealloc (st->networks, (st->n_networks + 1) * sizeof *st->networks);
  n = &st->networks[st->n_networks++];
  memset (n, 0, sizeof *n);
  return n;
}

st_container_t *
state_find (state_t *st, const char *service)
{
  size_t i;

  for (i = 0; st && i < st->n_containers; i++)
    if (strcmp (st->containers[i].service, service) == 0)
      return &st->containers[i];
  return NULL;
}

static void
container_free (st_container_t *c)
{
  free (c->service);
  free (c->name);
  free (c->image);
  free (c->image_id);
  free (c->dir);
  free (c->cgroup);
  free (c->config_hash);
  json_decref (c->health_log);
  json_decref (c->process);
  json_decref (c->endpoints);
  json_decref (c->ports);
  json_decref (c->exposed);
}

void
state_remove_container (state_t *st, size_t i)
{
  container_free (&st->containers[i]);
  memmove (&st->containers[i], &st->containers[i + 1],
           (st->n_containers - i - 1) * sizeof *st->containers);
  st->n_containers--;
}

void
state_freep (state_t **st)
{
  state_free (*st);
}

void
state_free (state_t *st)
{
  size_t i;

  if (st == NULL)
    return;
  for (i = 0; i < st->n_containers; i++)
    container_free (&st->containers[i]);
  for (i = 0; i < st->n_networks; i++)
    {
      st_network_t *n = &st->networks[i];
      free (n->key);
      free (n->name);
      free (n->bridge);
      free (n->subnet);
      free (n->gateway);
    }
  free (st->networks);
  for (i = 0; i < st->n_volumes; i++)
    {
      free (st->volumes[i].name);
      free (st->volumes[i].dir);
    }
  free (st->containers);
  free (st->volumes);
  free (st->project);
  free (st->project_dir);
  free (st);
}

/* ---- the process, for exec ---- */

static json_t *
strv_json (const char *const *v)
{
  json_t *a = json_array ();

  for (; v && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

json_t *
process_to_json (const container_spec_t *spec)
{
  json_t *o = json_object (), *rl = json_array ();
  char caps[32];
  size_t i;

  snprintf (caps, sizeof caps, "%" PRIx64, spec->caps);
  json_object_set_new (o, "env", strv_json (spec->env));
  json_object_set_new (o, "cwd", jstr (spec->cwd));
  json_object_set_new (o, "user", jstr (spec->user));
  json_object_set_new (o, "group_add", strv_json (spec->group_add));
  json_object_set_new (o, "caps", json_string (caps));
  json_object_set_new (o, "privileged", json_boolean (spec->privileged));
  json_object_set_new (o, "no_new_privileges", json_boolean (spec->no_new_privileges));
  json_object_set_new (o, "seccomp_unconfined", json_boolean (spec->seccomp_unconfined));
  for (i = 0; i < spec->n_rlimits; i++)
    json_array_append_new (rl, json_pack ("[iII]", spec->rlimits[i].resource,
                                          (json_int_t)spec->rlimits[i].soft,
                                          (json_int_t)spec->rlimits[i].hard));
  json_object_set_new (o, "rlimits", rl);
  return o;
}

/* A NULL-terminated array of j's strings (malloc'ed array; strings in j). */
static const char **
json_strv (json_t *j)
{
  const char **v = xzalloc ((json_array_size (j) + 1) * sizeof *v);
  size_t i, n = 0;
  json_t *e;

  json_array_foreach (j, i, e) if (json_is_string (e)) v[n++] = json_string_value (e);
  return v;
}

int
process_from_json (json_t *j, container_spec_t *spec, stack_error_t **err)
{
  json_t *rl = json_object_get (j, "rlimits"), *e;
  rt_rlimit_t *r;
  const char *caps = json_string_value (json_object_get (j, "caps"));
  size_t i;

  if (!json_is_object (j) || caps == NULL)
    return stack_error_make (err, EIO, "the container's process is not recorded");
  spec->env = json_strv (json_object_get (j, "env"));
  spec->group_add = json_strv (json_object_get (j, "group_add"));
  spec->cwd = json_string_value (json_object_get (j, "cwd"));
  spec->user = json_string_value (json_object_get (j, "user"));
  spec->caps = strtoull (caps, NULL, 16);
  spec->privileged = json_is_true (json_object_get (j, "privileged"));
  spec->no_new_privileges = json_is_true (json_object_get (j, "no_new_privileges"));
  spec->seccomp_unconfined = json_is_true (json_object_get (j, "seccomp_unconfined"));
  r = xzalloc ((json_array_size (rl) + 1) * sizeof *r);
  json_array_foreach (rl, i, e)
  {
    r[i].resource = (int)json_integer_value (json_array_get (e, 0));
    r[i].soft = (uint64_t)json_integer_value (json_array_get (e, 1));
    r[i].hard = (uint64_t)json_integer_value (json_array_get (e, 2));
  }
  spec->rlimits = r;
  spec->n_rlimits = json_array_size (rl);
  return 0;
}

/* ---- named volumes ---- */

int
volume_create (const char *volumes_dir, const char *name, const char *project, stack_error_t **err)
{
  cleanup_free char *data = xasprintf ("%s/%s/_data", volumes_dir, name);
  cleanup_free char *dir = xasprintf ("%s/%s", volumes_dir, name);
  struct stat st;

  if (!component_valid (name))
    return stack_error_make (err, EINVAL, "volume name `%s` is not a valid name", name);
  if (stat (data, &st) == 0)
    return 0;
  if (mkdir_p (data, 0755) < 0)
    return stack_error_make (err, errno, "create volume `%s`", data);
  if (mark_project (dir, project, err) < 0)
    return stack_error_wrap (err, "create volume `%s`", name);
  return 0;
}

int
mark_project (const char *dir, const char *project, stack_error_t **err)
{
  cleanup_free char *path = xasprintf ("%s/project", dir);
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0 || write_all (fd, project, strlen (project)) < 0)
    return stack_error_make (err, errno, "write `%s`", path);
  return 0;
}

char **
dirs_of_project (const char *parent, const char *project)
{
  char **v = xzalloc (sizeof *v);
  struct dirent *de;
  size_t n = 0;
  DIR *d = opendir (parent);

  while (d && (de = readdir (d)) != NULL)
    {
      cleanup_free char *owner = NULL, *text = NULL;
      stack_error_t *e = NULL;
      if (de->d_name[0] == '.')
        continue;
      owner = xasprintf ("%s/%s/project", parent, de->d_name);
      if (read_file (owner, &text, NULL, &e) < 0)
        {
          stack_error_free (&e);
          continue;
        }
      if (strcmp (text, project) != 0)
        continue;
      v = xrealloc (v, (n + 2) * sizeof *v);
      v[n++] = xstrdup (de->d_name);
      v[n] = NULL;
    }
  if (d)
    closedir (d);
  return v;
}
