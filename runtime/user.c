/* user.c — resolve a container's "user[:group]" in its own /etc/passwd and
   /etc/group, by the rules Docker and runc follow (runc's GetExecUser):

   - a name must exist in passwd; a number need not (then gid 0, HOME "/");
   - with an explicit group, that group is the primary one and no
     supplementary groups come from /etc/group; without one, every group
     listing the user as a member is a supplementary group;
   - the primary gid is always among the supplementary groups, so a
     "groups=" check cannot be dodged by dropping it (CVE-2023-25173);
   - group_add entries are names in /etc/group or numbers.

   The files are read through the container's root (openat2 with
   RESOLVE_IN_ROOT), never the host's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime-internal.h"

/* Read etc/passwd or etc/group under root_fd; a missing file reads empty,
   as in a scratch image. */
static int
read_in_root (int root_fd, const char *path, char **out, stack_error_t **err)
{
  struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  cleanup_close int fd = -1;
  struct stat st;

  fd = (int) syscall (SYS_openat2, root_fd, path, &how, sizeof how);
  if (fd < 0 && errno == ENOENT)
    {
      *out = xstrdup ("");
      return 0;
    }
  if (fd < 0)
    return stack_error_make (err, errno, "open `/%s`", path);
  /* not a FIFO or a device that would block or never end */
  if (fstat (fd, &st) < 0 || ! S_ISREG (st.st_mode))
    return stack_error_make (err, EINVAL, "`/%s` is not a regular file", path);
  return read_fd (fd, path, out, NULL, err);
}

static bool
parse_id (const char *s, unsigned long *id)
{
  char *end;

  if (*s < '0' || *s > '9')
    return false;
  errno = 0;
  *id = strtoul (s, &end, 10);
  return errno == 0 && *end == '\0' && *id < UINT_MAX;
}

/* Split one line into at most n ':'-separated fields, in place. */
static size_t
split_fields (char *line, char **f, size_t n)
{
  size_t i = 0;

  f[i++] = line;
  for (; *line && i < n; line++)
    if (*line == ':')
      {
        *line = '\0';
        f[i++] = line + 1;
      }
  return i;
}

/* Call fn on each line of a passwd- or group-style file; stop when it
   returns true. Lines are modified. */
static bool
each_line (char *text, size_t nfields, bool (*fn) (char **f, void *data), void *data)
{
  char *save = NULL, *line;

  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[7] = { NULL };
      if (line[0] == '#' || split_fields (line, f, nfields) < nfields)
        continue;
      if (fn (f, data))
        return true;
    }
  return false;
}

struct find
{
  const char *name;
  unsigned long id;
  bool numeric;
  char **found; /* the matching entry's fields, copied */
  size_t n;
};

static bool
match_entry (char **f, void *data)
{
  struct find *q = data;
  unsigned long id;
  size_t i;

  if (strcmp (f[0], q->name) != 0 && ! (q->numeric && parse_id (f[2], &id) && id == q->id))
    return false;
  for (i = 0; i < q->n; i++)
    q->found[i] = xstrdup (f[i]);
  return true;
}

static void
add_gid (rt_user_t *u, gid_t gid)
{
  size_t i;

  for (i = 0; i < u->n_groups; i++)
    if (u->groups[i] == gid)
      return;
  u->groups = xrealloc (u->groups, (u->n_groups + 1) * sizeof *u->groups);
  u->groups[u->n_groups++] = gid;
}

struct member
{
  const char *user;
  rt_user_t *u;
};

static bool
match_member (char **f, void *data)
{
  struct member *m = data;
  char *save = NULL, *name;
  unsigned long gid;

  if (! parse_id (f[2], &gid))
    return false;
  for (name = strtok_r (f[3], ",", &save); name; name = strtok_r (NULL, ",", &save))
    if (strcmp (name, m->user) == 0)
      add_gid (m->u, (gid_t) gid);
  return false;
}

/* A group by name or number; a number need not exist. */
static int
lookup_group (const char *group_text, const char *spec, gid_t *gid, stack_error_t **err)
{
  cleanup_free char *text = xstrdup (group_text);
  char *f[4] = { NULL };
  struct find q = { .name = spec, .found = f, .n = 4 };
  unsigned long id;
  bool found;

  q.numeric = parse_id (spec, &q.id);
  found = each_line (text, 4, match_entry, &q);
  if (found && parse_id (f[2], &id))
    *gid = (gid_t) id;
  else if (q.numeric)
    *gid = (gid_t) q.id;
  for (size_t i = 0; i < 4; i++)
    free (f[i]);
  if (! found && ! q.numeric)
    return stack_error_make (err, 0, "unable to find group %s: no matching entries in group file",
                             spec);
  return 0;
}

int
rt_user_resolve (int root_fd, const char *spec, const char *const *group_add, rt_user_t *out,
                 stack_error_t **err)
{
  cleanup_free char *passwd = NULL;
  cleanup_free char *group = NULL;
  cleanup_free char *user = xstrdup (spec && *spec ? spec : "0");
  char *colon, *gspec = NULL, *f[7] = { NULL };
  struct find q = { .found = f, .n = 7 };
  unsigned long id;
  size_t i;
  int ret = -1;

  memset (out, 0, sizeof *out);
  if ((colon = strchr (user, ':')))
    {
      *colon = '\0';
      gspec = colon + 1;
    }
  if (read_in_root (root_fd, "etc/passwd", &passwd, err) < 0
      || read_in_root (root_fd, "etc/group", &group, err) < 0)
    return -1;

  q.name = user;
  q.numeric = parse_id (user, &q.id);
  if (each_line (passwd, 7, match_entry, &q))
    {
      if (! parse_id (f[2], &id))
        goto bad_entry;
      out->uid = (uid_t) id;
      if (! parse_id (f[3], &id))
        goto bad_entry;
      out->gid = (gid_t) id;
      out->home = xstrdup (*f[5] ? f[5] : "/");
    }
  else if (q.numeric)
    {
      out->uid = (uid_t) q.id;
      out->home = xstrdup ("/");
    }
  else
    {
      stack_error_make (err, 0, "unable to find user %s: no matching entries in passwd file", user);
      goto fail;
    }

  if (gspec && *gspec)
    {
      if (lookup_group (group, gspec, &out->gid, err) < 0)
        goto fail;
      add_gid (out, out->gid);
    }
  else
    {
      /* the user's name as passwd has it: numeric specs match by uid */
      struct member m = { .user = f[0] ? f[0] : user, .u = out };
      cleanup_free char *text = xstrdup (group);
      add_gid (out, out->gid);
      each_line (text, 4, match_member, &m);
    }

  for (i = 0; group_add && group_add[i]; i++)
    {
      gid_t gid;
      if (lookup_group (group, group_add[i], &gid, err) < 0)
        goto fail;
      add_gid (out, gid);
    }
  ret = 0;
  goto done;

bad_entry:
  stack_error_make (err, 0, "bad entry for user %s in /etc/passwd", user);
fail:
  rt_user_free (out);
done:
  for (i = 0; i < 7; i++)
    free (f[i]);
  return ret;
}

void
rt_user_free (rt_user_t *u)
{
  free (u->groups);
  free (u->home);
  u->groups = NULL;
  u->home = NULL;
  u->n_groups = 0;
}
