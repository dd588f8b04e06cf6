/* cgroup.c — the public rt_cgroup_* calls: check the path, pick the v1 or v2
   backend (see cgroup-internal.h for the choice and the STACK_CGROUP and
   STACK_CGROUP_V2_ROOT variables) and dispatch; plus the file helpers both
   backends share. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"

#define CGROUP_MOUNT "/sys/fs/cgroup"

/* ------------------------------------------------------------------ */
/* Choosing the backend                                                */
/* ------------------------------------------------------------------ */

static int
select_ops (const rt_cgroup_ops_t **ops, const rt_cgroup_ops_ext_t **ext, stack_error_t **err)
{
  const char *force = getenv ("STACK_CGROUP");
  struct statfs sfs;
  bool v2;

  if (force && *force)
    {
      if (strcmp (force, "v1") != 0 && strcmp (force, "v2") != 0)
        return stack_error_make (err, EINVAL, "STACK_CGROUP=`%s`: expected `v1` or `v2`", force);
      v2 = strcmp (force, "v2") == 0;
    }
  else
    /* Only a cgroup2 mount AT /sys/fs/cgroup is v2. The hybrid layout (v1
       controllers, an empty cgroup2 at /sys/fs/cgroup/unified) is v1: crun
       1.8 refuses it, we must not. */
    v2 = statfs (CGROUP_MOUNT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;

  *ops = v2 ? &rt_cgroup_v2_ops : &rt_cgroup_v1_ops;
  if (ext)
    *ext = v2 ? &rt_cgroup_v2_ext : &rt_cgroup_v1_ext;
  return 0;
}

const char *
rt_cg_v2_root (void)
{
  const char *root = getenv ("STACK_CGROUP_V2_ROOT");

  return root && *root ? root : CGROUP_MOUNT;
}

/* Paths come from the project and container names; never let one climb out
   of the hierarchy or name the root itself. */
static int
check_path (const char *path, stack_error_t **err)
{
  const char *p = path, *end;
  size_t len;

  if (path == NULL || *path == '\0' || *path == '/' || strlen (path) >= PATH_MAX / 2)
    goto bad;
  for (; *p; p = *end ? end + 1 : end)
    {
      end = strchrnul (p, '/');
      len = (size_t) (end - p);
      if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
        goto bad;
      if (*end == '/' && end[1] == '\0')
        goto bad;
    }
  return 0;
bad:
  return stack_error_make (err, EINVAL,
                           "cgroup path `%s`: must be relative, without empty, `.` or `..` parts",
                           path ? path : "(null)");
}

const char *
rt_cgroup_version (void)
{
  const rt_cgroup_ops_t *ops;
  stack_error_t *err = NULL;

  if (select_ops (&ops, NULL, &err) < 0)
    {
      stack_error_free (&err);
      return "none";
    }
  return ops->name;
}

int
rt_cgroup_create (const char *path, const rt_limits_t *limits, stack_error_t **err)
{
  static const rt_limits_t none = { 0 };
  const rt_cgroup_ops_t *ops;
  const rt_limits_t *l = limits ? limits : &none;

  if (check_path (path, err) < 0 || select_ops (&ops, NULL, err) < 0)
    return -1;
  /* Docker's rules: a swap limit needs a memory limit and is at least it. */
  if (l->memory_swap > 0 && (l->memory <= 0 || l->memory_swap < l->memory))
    return stack_error_make (err, EINVAL, "memory_swap `%lld` needs a memory limit no larger",
                             (long long) l->memory_swap);
  if (l->memory < 0 || l->memory_reservation < 0 || l->cpus < 0)
    return stack_error_make (err, EINVAL, "negative memory or cpu limit");
  /* the range of v1 cpu.shares; the v2 weight formula underflows below 2 */
  if (l->cpu_shares != 0 && (l->cpu_shares < 2 || l->cpu_shares > 262144))
    return stack_error_make (err, EINVAL, "cpu_shares `%llu`: must be 2-262144",
                             (unsigned long long) l->cpu_shares);
  if (l->io_weight != 0 && (l->io_weight < 10 || l->io_weight > 1000))
    return stack_error_make (err, EINVAL, "io_weight `%u`: must be 10-1000", l->io_weight);
  return ops->create (path, l, err);
}

int
rt_cgroup_add_pid (const char *path, pid_t pid, stack_error_t **err)
{
  const rt_cgroup_ops_t *ops;

  if (check_path (path, err) < 0 || select_ops (&ops, NULL, err) < 0)
    return -1;
  if (pid <= 0)
    return stack_error_make (err, EINVAL, "add pid `%d` to cgroup `%s`", (int) pid, path);
  return ops->add_pid (path, pid, err);
}

int
rt_cgroup_kill_all (const char *path, stack_error_t **err)
{
  const rt_cgroup_ops_t *ops;
  const rt_cgroup_ops_ext_t *ext;

  if (check_path (path, err) < 0 || select_ops (&ops, &ext, err) < 0)
    return -1;
  return ext->kill_all (path, err);
}

int
rt_cgroup_destroy (const char *path, const char *stop_at, stack_error_t **err)
{
  cleanup_free char *cur = NULL;
  const rt_cgroup_ops_t *ops;
  size_t keep = 0;
  char *slash;
  int ret;

  if (check_path (path, err) < 0 || select_ops (&ops, NULL, err) < 0)
    return -1;
  if (stop_at && *stop_at)
    {
      keep = strlen (stop_at);
      if (check_path (stop_at, err) < 0)
        return -1;
      if (strncmp (path, stop_at, keep) != 0 || path[keep] != '/')
        return stack_error_make (err, EINVAL, "cgroup `%s` is not below `%s`", path, stop_at);
    }

  ret = ops->destroy (path, err);
  if (ret < 0 || stop_at == NULL || *stop_at == '\0')
    return ret;
  cur = xstrdup (path);
  while ((slash = strrchr (cur, '/')) && (size_t) (slash - cur) > keep)
    {
      *slash = '\0';
      ret = ops->destroy (cur, err);
      if (ret < 0 && ((*err)->status == EBUSY || (*err)->status == ENOTEMPTY))
        {
          /* another container of the project still lives there: done */
          stack_error_free (err);
          return 0;
        }
      if (ret < 0)
        return ret;
    }
  return 0;
}

int
rt_cgroup_stats (const char *path, rt_cgroup_stats_t *out, stack_error_t **err)
{
  const rt_cgroup_ops_t *ops;

  memset (out, 0, sizeof *out);
  if (check_path (path, err) < 0 || select_ops (&ops, NULL, err) < 0)
    return -1;
  return ops->stats (path, out, err);
}

int
rt_cgroup_pids (const char *path, pid_t **pids, size_t *n, stack_error_t **err)
{
  const rt_cgroup_ops_t *ops;

  *pids = NULL;
  *n = 0;
  if (check_path (path, err) < 0 || select_ops (&ops, NULL, err) < 0)
    return -1;
  return ops->pids (path, pids, n, err);
}

/* ------------------------------------------------------------------ */
/* Helpers for the backends                                            */
/* ------------------------------------------------------------------ */

int
rt_cg_write (const char *dir, const char *file, const char *value, stack_error_t **err)
{
  cleanup_free char *path = xasprintf ("%s/%s", dir, file);
  cleanup_close int fd = -1;
  size_t len = strlen (value);
  ssize_t n;

  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return stack_error_make (err, errno, "write `%s` to `%s`", value, path);
  /* cgroupfs takes one write as one value; a short write is a failure */
  n = write (fd, value, len);
  if (n < 0)
    return stack_error_make (err, errno, "write `%s` to `%s`", value, path);
  if ((size_t) n != len)
    return stack_error_make (err, EIO, "write `%s` to `%s`", value, path);
  return 0;
}

int
rt_cg_writef (const char *dir, const char *file, stack_error_t **err, const char *fmt, ...)
{
  cleanup_free char *value = NULL;
  va_list ap;

  va_start (ap, fmt);
  value = xvasprintf (fmt, ap);
  va_end (ap);
  return rt_cg_write (dir, file, value, err);
}

int
rt_cg_read (const char *dir, const char *file, char **out, stack_error_t **err)
{
  cleanup_free char *path = xasprintf ("%s/%s", dir, file);

  return read_file (path, out, NULL, err);
}

bool
rt_cg_exists (const char *dir, const char *file)
{
  cleanup_free char *path = file ? xasprintf ("%s/%s", dir, file) : xstrdup (dir);

  return access (path, F_OK) == 0;
}

static int
parse_u64 (const char *s, uint64_t *out)
{
  unsigned long long v;
  char *end;

  while (*s == ' ')
    s++;
  if (strncmp (s, "max", 3) == 0 && (s[3] == '\n' || s[3] == '\0' || s[3] == ' '))
    {
      *out = UINT64_MAX;
      return 0;
    }
  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno != 0 || (*end != '\n' && *end != '\0' && *end != ' '))
    return -1;
  *out = v;
  return 0;
}

int
rt_cg_read_u64 (const char *dir, const char *file, const char *key, uint64_t *out,
                stack_error_t **err)
{
  cleanup_free char *text = NULL;
  size_t klen = key ? strlen (key) : 0;
  const char *line, *next;

  *out = 0;
  if (rt_cg_read (dir, file, &text, err) < 0)
    {
      /* the controller is not there: nothing to report */
      if ((*err)->status != ENOENT)
        return -1;
      stack_error_free (err);
      return 0;
    }
  for (line = text; line && *line; line = next)
    {
      next = strchr (line, '\n');
      next = next ? next + 1 : NULL;
      if (key && (strncmp (line, key, klen) != 0 || line[klen] != ' '))
        continue;
      if (parse_u64 (line + klen, out) < 0)
        return stack_error_make (err, EINVAL, "parse `%s/%s`%s%s", dir, file, key ? " key " : "",
                                 key ? key : "");
      return 0;
    }
  return 0;
}

int
rt_cg_read_procs (const char *dir, pid_t **pids, size_t *n, stack_error_t **err)
{
  cleanup_free char *text = NULL;
  cleanup_free pid_t *v = NULL;
  size_t count = 0, cap = 0;
  char *p, *end;
  long pid;

  *pids = NULL;
  *n = 0;
  if (rt_cg_read (dir, "cgroup.procs", &text, err) < 0)
    return -1;
  for (p = text; *p; p = end)
    {
      errno = 0;
      pid = strtol (p, &end, 10);
      if (end == p || errno != 0 || (*end != '\n' && *end != '\0'))
        return stack_error_make (err, EINVAL, "parse `%s/cgroup.procs`", dir);
      if (*end == '\n')
        end++;
      /* a process outside our pid namespace reads as 0: kill (0, ...)
         would hit our own process group */
      if (pid <= 0 || pid > INT_MAX)
        continue;
      if (count == cap)
        {
          cap = cap ? cap * 2 : 16;
          v = xrealloc (v, cap * sizeof *v);
        }
      v[count++] = (pid_t) pid;
    }
  *pids = steal_pointer (&v);
  *n = count;
  return 0;
}

int
rt_cg_kill_procs (const char *dir, size_t *n_seen, stack_error_t **err)
{
  cleanup_free pid_t *pids = NULL;
  size_t n, i;

  *n_seen = 0;
  if (rt_cg_read_procs (dir, &pids, &n, err) < 0)
    {
      if ((*err)->status != ENOENT)
        return -1;
      stack_error_free (err);
      return 0;
    }
  for (i = 0; i < n; i++)
    if (kill (pids[i], SIGKILL) < 0 && errno != ESRCH)
      return stack_error_make (err, errno, "kill %d in `%s`", (int) pids[i], dir);
  *n_seen = n;
  return 0;
}

int
rt_cg_mkdirs (const char *root, const char *path, rt_cg_level_fn level_ready, void *data,
              size_t *first_new, stack_error_t **err)
{
  cleanup_free char *full = xasprintf ("%s/%s", root, path);
  cleanup_free char *parent = NULL;
  char *s = full + strlen (root) + 1;
  size_t level = 0;
  bool created = false;
  int ret;
  char c;

  *first_new = 0;
  for (;; s++)
    {
      if (*s != '/' && *s != '\0')
        continue;
      c = *s;
      *s = '\0';
      ret = mkdir (full, 0755);
      if (ret < 0 && errno != EEXIST)
        {
          ret = stack_error_make (err, errno, "mkdir `%s`", full);
          goto fail;
        }
      if (ret == 0 && !created)
        {
          created = true;
          *first_new = level;
        }
      free (parent);
      parent = xstrndup (full, (size_t) (strrchr (full, '/') - full));
      if (level_ready && level_ready (parent, full, data, err) < 0)
        goto fail;
      *s = c;
      level++;
      if (c == '\0')
        break;
    }
  if (!created)
    *first_new = level;
  return 0;
fail:
  if (created)
    rt_cg_rmdirs (root, path, *first_new);
  return -1;
}

void
rt_cg_rmdirs (const char *root, const char *path, size_t keep)
{
  cleanup_free char *full = xasprintf ("%s/%s", root, path);
  size_t rootlen = strlen (root), n = 1;
  const char *p;
  char *slash;

  for (p = path; *p; p++)
    n += *p == '/';
  for (; n > keep; n--)
    {
      if (rmdir (full) < 0 && errno != ENOENT)
        return;
      slash = strrchr (full, '/');
      if (slash == NULL || (size_t) (slash - full) <= rootlen)
        return;
      *slash = '\0';
    }
}

static bool
has_child_cgroup (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  bool found = false;

  if (d == NULL)
    return false;
  while (!found && (e = readdir (d)))
    found = e->d_type == DT_DIR && strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0;
  closedir (d);
  return found;
}

int
rt_cg_rmdir (const char *dir, int *retries, stack_error_t **err)
{
  int e;

  for (;;)
    {
      if (rmdir (dir) == 0 || errno == ENOENT)
        return 0;
      e = errno;
      /* After SIGKILL the kernel still counts dying tasks for a moment
         (they leave the css_set after cgroup.procs stops listing them):
         wait for that, but not for child cgroups, which never go away. */
      if (e != EBUSY || *retries <= 0 || has_child_cgroup (dir))
        return stack_error_make (err, e, "rmdir `%s`", dir);
      --*retries;
      rt_cg_sleep_ms (10);
    }
}

void
rt_cg_sleep_ms (unsigned ms)
{
  struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };

  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}
