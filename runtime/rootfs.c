/* rootfs.c — the container's root filesystem, assembled in the child's
   own mount namespace (nothing here is ever visible on the host):

     / made a recursive slave, so nothing we mount propagates back
     overlay of the layers at spec->rootfs_dir
     /proc, /sys, the container's own cgroups read-only at /sys/fs/cgroup,
     /dev (tmpfs with bound device nodes, devpts, shm, mqueue)
     the spec's mounts, in order; /etc/hosts, /etc/hostname, /etc/resolv.conf
     pivot_root into it, the old root detached
     sysctls (while /proc/sys is still writable), masked and read-only
     paths, then a read-only root when asked

   Every path inside the rootfs is resolved by the kernel with openat2
   (RESOLVE_IN_ROOT) and mounted on through /proc/self/fd/N: an image's
   symlink can only lead somewhere inside the image, never to the host
   (the CVE-2021-30465 class of bugs: never join strings with the rootfs
   path). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "runtime-internal.h"

#define RESOLVE_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

typedef struct fdpath
{
  char s[32];
} fdpath_t;

static fdpath_t
fdp (int fd)
{
  fdpath_t p;
  snprintf (p.s, sizeof p.s, "/proc/self/fd/%d", fd);
  return p;
}

static int
openat2_fd (int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
  struct open_how how = { .flags = flags | O_CLOEXEC, .resolve = resolve };
  return (int) syscall (SYS_openat2, dirfd, path, &how, sizeof how);
}

/* Open `path` inside the root, creating what is missing: directories, and
   an empty file as the last component when `file`. A dangling symlink on
   the way is followed by hand (inside the root, like the kernel would)
   and its target created, as runc does. Returns an O_PATH fd. */
static int
open_create_in_root (int root_fd, const char *path, bool file, stack_error_t **err)
{
  cleanup_free char *p = xstrdup (path);
  int hops;

  for (hops = 0; hops < 40; hops++)
    {
      cleanup_close int cur = openat2_fd (root_fd, "/", O_PATH | O_DIRECTORY, RESOLVE_ROOT);
      strbuf_t prefix = { 0 };
      char *s = p, *next = NULL;
      bool restart = false;

      if (cur < 0)
        return stack_error_make (err, errno, "open the container's root");
      sb_puts (&prefix, "");
      while (*s)
        {
          cleanup_free char *comp = NULL;
          size_t parent_len = prefix.len;
          char link[PATH_MAX];
          ssize_t n;
          int fd;

          while (*s == '/')
            s++;
          if (*s == '\0')
            break;
          next = strchr (s, '/');
          comp = next ? xstrndup (s, (size_t) (next - s)) : xstrdup (s);
          s = next ? next : s + strlen (s);
          sb_printf (&prefix, "/%s", comp);

          fd = openat2_fd (root_fd, prefix.s, O_PATH, RESOLVE_ROOT);
          if (fd < 0 && errno == ENOENT)
            {
              n = readlinkat (cur, comp, link, sizeof link - 1);
              if (n >= 0)
                {
                  char *np;
                  link[n] = '\0';
                  prefix.s[parent_len] = '\0';
                  np = link[0] == '/' ? xasprintf ("%s%s", link, s)
                                      : xasprintf ("%s/%s%s", prefix.s, link, s);
                  free (p);
                  p = np;
                  restart = true;
                  break;
                }
              while (*s == '/')
                s++;
              if (file && *s == '\0')
                {
                  int f = openat (cur, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                  if (f >= 0)
                    close (f);
                }
              else
                mkdirat (cur, comp, 0755);
              fd = openat2_fd (root_fd, prefix.s, O_PATH, RESOLVE_ROOT);
            }
          if (fd < 0)
            {
              int e = errno;
              stack_error_make (err, e, "open `%s` in the container", prefix.s);
              sb_free (&prefix);
              return -1;
            }
          close (cur);
          cur = fd;
        }
      sb_free (&prefix);
      if (! restart)
        return steal_fd (&cur);
    }
  return stack_error_make (err, ELOOP, "open `%s` in the container", path);
}

/* Make the mount at fd (and below it when recursive) read-only, leaving
   its other flags (nosuid, nodev, noexec) as they are. */
static int
make_ro (int fd, bool recursive, const char *what, stack_error_t **err)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  struct statvfs sv;
  unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;

  if (mount_setattr (fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr)
      == 0)
    return 0;
  if (errno != ENOSYS)
    return stack_error_make (err, errno, "make `%s` read-only", what);
  /* Linux < 5.12: the top mount only, keeping its flags */
  if (fstatvfs (fd, &sv) == 0)
    flags |= sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_RELATIME);
  if (mount (NULL, fdp (fd).s, NULL, flags, NULL) < 0)
    return stack_error_make (err, errno, "make `%s` read-only", what);
  return 0;
}

/* Mount on a path in the container; returns an O_PATH fd of the new
   mount's root when out_fd is given. */
static int
mount_in_root (int root_fd, const char *src, const char *target, bool file, const char *type,
               unsigned long flags, const char *data, int *out_fd, stack_error_t **err)
{
  cleanup_close int fd = -1;

  fd = open_create_in_root (root_fd, target, file, err);
  if (fd < 0)
    return -1;
  if (mount (src, fdp (fd).s, type, flags, data) < 0)
    return stack_error_make (err, errno, "mount %s on `%s`", type ? type : "bind", target);
  if (out_fd)
    {
      /* the old fd is the directory under the mount; a fresh lookup
         crosses into the new mount */
      *out_fd = openat2_fd (root_fd, target, O_PATH, RESOLVE_ROOT);
      if (*out_fd < 0)
        return stack_error_make (err, errno, "open `%s` in the container", target);
    }
  return 0;
}

/* ---- overlay ---- */

static void
put_escaped (strbuf_t *b, const char *s)
{
  for (; *s; s++)
    {
      if (*s == ',' || *s == ':' || *s == '\\')
        sb_putc (b, '\\');
      sb_putc (b, *s);
    }
}

/* mount(2) copies one page of options: a longer string would be cut. */
static int
mount_overlay_fsconfig (const container_spec_t *spec, stack_error_t **err)
{
  cleanup_close int fs = -1;
  cleanup_close int mnt = -1;
  size_t i;

  fs = fsopen ("overlay", FSOPEN_CLOEXEC);
  if (fs < 0)
    return -1;
  /* "lowerdir+" (Linux ≥ 6.8) takes one layer per call, topmost first */
  for (i = 0; i < spec->n_layers; i++)
    if (fsconfig (fs, FSCONFIG_SET_STRING, "lowerdir+", spec->layers[i], 0) < 0)
      return -1;
  if (fsconfig (fs, FSCONFIG_SET_STRING, "upperdir", spec->upper_dir, 0) < 0
      || fsconfig (fs, FSCONFIG_SET_STRING, "workdir", spec->work_dir, 0) < 0
      || fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  mnt = fsmount (fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return -1;
  return move_mount (mnt, "", AT_FDCWD, spec->rootfs_dir, MOVE_MOUNT_F_EMPTY_PATH);
}

static int
mount_overlay (const container_spec_t *spec, stack_error_t **err)
{
  strbuf_t opts = { 0 };
  long page = sysconf (_SC_PAGESIZE);
  size_t i;
  int ret;

  if (spec->n_layers == 0)
    return stack_error_make (err, EINVAL, "mount overlay on `%s`: no layers", spec->rootfs_dir);
  sb_puts (&opts, "lowerdir=");
  for (i = 0; i < spec->n_layers; i++)
    {
      if (i > 0)
        sb_putc (&opts, ':');
      put_escaped (&opts, spec->layers[i]);
    }
  sb_puts (&opts, ",upperdir=");
  put_escaped (&opts, spec->upper_dir);
  sb_puts (&opts, ",workdir=");
  put_escaped (&opts, spec->work_dir);

  if (opts.len < (size_t) page)
    ret = mount ("overlay", spec->rootfs_dir, "overlay", 0, opts.s);
  else
    {
      /* Too long for mount(2): the new mount API takes the layers one by one. */
      ret = mount_overlay_fsconfig (spec, err);
      if (ret < 0 && (errno == ENOSYS || errno == EINVAL))
        {
          stack_error_make (err, E2BIG,
                            "mount overlay on `%s`: %zu layers need %zu bytes of options, more "
                            "than one page (%ld); this kernel cannot take them one by one "
                            "(`lowerdir+`, Linux 6.8)",
                            spec->rootfs_dir, spec->n_layers, opts.len + 1, page);
          sb_free (&opts);
          return -1;
        }
    }
  sb_free (&opts);
  if (ret < 0)
    return stack_error_make (err, errno, "mount overlay on `%s`", spec->rootfs_dir);
  return 0;
}

/* ---- /dev ---- */

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

/* A host device node, bound onto an empty file (mknod fails in user
   namespaces; a bind works everywhere). */
static int
bind_dev (int dev_fd, const char *host_path, const char *name, stack_error_t **err)
{
  cleanup_close int src = -1;
  cleanup_close int dst = -1;
  int f;

  src = open (host_path, O_PATH | O_CLOEXEC);
  if (src < 0)
    return stack_error_make (err, errno, "open `%s`", host_path);
  f = openat (dev_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (f < 0)
    return stack_error_make (err, errno, "create `/dev/%s`", name);
  close (f);
  dst = openat (dev_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (dst < 0)
    return stack_error_make (err, errno, "open `/dev/%s`", name);
  if (mount (fdp (src).s, fdp (dst).s, NULL, MS_BIND, NULL) < 0)
    return stack_error_make (err, errno, "bind `%s` on `/dev/%s`", host_path, name);
  return 0;
}

/* Privileged containers see the host's devices (top level of /dev). */
static int
bind_host_devices (int dev_fd, stack_error_t **err)
{
  DIR *d = opendir ("/dev");
  struct dirent *de;
  int ret = 0;

  if (d == NULL)
    return stack_error_make (err, errno, "open `/dev`");
  while (ret == 0 && (de = readdir (d)))
    {
      cleanup_free char *path = NULL;
      struct stat st;
      if (de->d_type != DT_CHR && de->d_type != DT_BLK)
        continue;
      if (fstatat (dev_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        continue; /* ours already, or ptmx */
      path = xasprintf ("/dev/%s", de->d_name);
      ret = bind_dev (dev_fd, path, de->d_name, err);
    }
  closedir (d);
  return ret;
}

static int
setup_dev (int root_fd, const container_spec_t *spec, stack_error_t **err)
{
  static const char *const links[][2] = { { "fd", "/proc/self/fd" },
                                          { "stdin", "/proc/self/fd/0" },
                                          { "stdout", "/proc/self/fd/1" },
                                          { "stderr", "/proc/self/fd/2" },
                                          { "ptmx", "pts/ptmx" } };
  cleanup_close int dev = -1;
  cleanup_free char *shm_opts = NULL;
  size_t i;

  if (mount_in_root (root_fd, "tmpfs", "/dev", false, "tmpfs", MS_NOSUID | MS_STRICTATIME,
                     "mode=755,size=65536k", &dev, err)
      < 0)
    return -1;
  for (i = 0; i < ARRAY_SIZE (dev_nodes); i++)
    {
      cleanup_free char *host = xasprintf ("/dev/%s", dev_nodes[i]);
      if (bind_dev (dev, host, dev_nodes[i], err) < 0)
        return -1;
    }
  for (i = 0; i < ARRAY_SIZE (links); i++)
    if (symlinkat (links[i][1], dev, links[i][0]) < 0)
      return stack_error_make (err, errno, "symlink `/dev/%s`", links[i][0]);

  /* our own devpts: the host's terminals stay out of reach */
  if (mount_in_root (root_fd, "devpts", "/dev/pts", false, "devpts", MS_NOSUID | MS_NOEXEC,
                     "newinstance,ptmxmode=0666,mode=0620,gid=5", NULL, err)
      < 0)
    return -1;
  shm_opts = xasprintf ("mode=1777,size=%llu",
                        (unsigned long long) (spec->shm_size ? spec->shm_size : 64ULL << 20));
  if (mount_in_root (root_fd, "shm", "/dev/shm", false, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     shm_opts, NULL, err)
      < 0)
    return -1;
  if (mount_in_root (root_fd, "mqueue", "/dev/mqueue", false, "mqueue",
                     MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, NULL, err)
      < 0)
    return -1;
  if (spec->privileged && bind_host_devices (dev, err) < 0)
    return -1;
  return 0;
}

/* ---- /proc, /sys ---- */

static int
setup_proc_sys (int root_fd, const container_spec_t *spec, stack_error_t **err)
{
  unsigned long ro = spec->privileged ? 0 : MS_RDONLY;

  if (mount_in_root (root_fd, "proc", "/proc", false, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     NULL, NULL, err)
      < 0)
    return -1;
  if (! spec->host_net && ! spec->join_net)
    return mount_in_root (root_fd, "sysfs", "/sys", false, "sysfs",
                          MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, NULL, NULL, err);

  /* A sysfs we did not create shows a network namespace we do not own:
     the host's /sys, bound (read-only unless privileged). */
  {
    cleanup_close int fd = -1;
    if (mount_in_root (root_fd, "/sys", "/sys", false, NULL, MS_BIND | MS_REC, NULL, &fd, err) < 0)
      return -1;
    if (ro && make_ro (fd, true, "/sys", err) < 0)
      return -1;
  }
  return 0;
}

/* ---- /sys/fs/cgroup ---- */

/* The v1 controllers whose hierarchies a container is placed in (the
   ones cgroup-v1.c joins). */
static const char *const cgroup_v1_controllers[]
    = { "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "freezer", "devices" };

static bool
is_our_controller (const char *name)
{
  size_t i;

  for (i = 0; i < ARRAY_SIZE (cgroup_v1_controllers); i++)
    if (strcmp (name, cgroup_v1_controllers[i]) == 0)
      return true;
  return false;
}

/* One v1 hierarchy ("cpu,cpuacct" as /proc/self/cgroup names it) at
   /sys/fs/cgroup/<controllers>, with a symlink per co-mounted controller
   (cpu -> cpu,cpuacct), as Docker and runc lay it out. A hierarchy we do
   not place the container in (name=systemd, net_cls, ...) is left out:
   its root would be the caller's cgroup, not the container's. */
static int
mount_cgroup_v1_one (int root_fd, int dir_fd, const char *controllers, unsigned long ro,
                     stack_error_t **err)
{
  cleanup_free char *names = xstrdup (controllers);
  cleanup_free char *target = NULL;
  char *save = NULL, *name;
  bool ours = false, comounted = strchr (controllers, ',') != NULL;

  for (name = strtok_r (names, ",", &save); name; name = strtok_r (NULL, ",", &save))
    ours = ours || is_our_controller (name);
  if (! ours)
    return 0;
  target = xasprintf ("/sys/fs/cgroup/%s", controllers);
  /* the options name the hierarchy: they must list exactly its controllers */
  if (mount_in_root (root_fd, "cgroup", target, false, "cgroup",
                     MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, controllers, NULL, err)
      < 0)
    return -1;
  if (! comounted)
    return 0;
  strcpy (names, controllers);
  for (name = strtok_r (names, ",", &save); name; name = strtok_r (NULL, ",", &save))
    if (symlinkat (controllers, dir_fd, name) < 0)
      return stack_error_make (err, errno, "symlink `/sys/fs/cgroup/%s`", name);
  return 0;
}

/* The container's cgroups at /sys/fs/cgroup, read-only unless privileged.
   We are in our own cgroup namespace (unshared after joining the
   container's cgroup), so every mount's root is the container's cgroup:
   it sees its own limits and nothing of the host's tree. v2: one cgroup2
   mount; v1: a tmpfs holding one mount per hierarchy. */
static int
setup_cgroup_fs (int root_fd, const container_spec_t *spec, stack_error_t **err)
{
  unsigned long ro = spec->privileged ? 0 : MS_RDONLY;
  cleanup_free char *text = NULL;
  cleanup_close int dir = -1;
  char *line, *save = NULL;

  if (strcmp (rt_cgroup_version (), "v2") == 0)
    return mount_in_root (root_fd, "cgroup2", "/sys/fs/cgroup", false, "cgroup2",
                          MS_NOSUID | MS_NODEV | MS_NOEXEC | ro, NULL, NULL, err);

  /* "ID:CONTROLLERS:PATH" per hierarchy we are in */
  if (read_file ("/proc/self/cgroup", &text, NULL, err) < 0)
    return -1;
  if (mount_in_root (root_fd, "tmpfs", "/sys/fs/cgroup", false, "tmpfs",
                     MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755", &dir, err)
      < 0)
    return -1;
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *controllers = strchr (line, ':'), *end;
      if (controllers == NULL || (end = strchr (++controllers, ':')) == NULL)
        continue;
      *end = '\0';
      /* "0::/" is the v2 line of a hybrid host: no controller of ours */
      if (*controllers && mount_cgroup_v1_one (root_fd, dir, controllers, ro, err) < 0)
        return -1;
    }
  if (ro && make_ro (dir, false, "/sys/fs/cgroup", err) < 0)
    return -1;
  return 0;
}

/* ---- the spec's mounts ---- */

static int
propagation_flags (const char *p, unsigned long *flags)
{
  static const struct
  {
    const char *name;
    unsigned long flags;
  } table[] = { { "private", MS_PRIVATE },          { "rprivate", MS_PRIVATE | MS_REC },
                { "shared", MS_SHARED },            { "rshared", MS_SHARED | MS_REC },
                { "slave", MS_SLAVE },              { "rslave", MS_SLAVE | MS_REC },
                { "unbindable", MS_UNBINDABLE },    { "runbindable", MS_UNBINDABLE | MS_REC } };
  size_t i;

  if (p == NULL || *p == '\0')
    p = "rprivate";
  for (i = 0; i < ARRAY_SIZE (table); i++)
    if (strcmp (p, table[i].name) == 0)
      {
        *flags = table[i].flags;
        return 0;
      }
  return -1;
}


/* Copy a tree from the image into a fresh volume, keeping modes, owners
   and times, as Docker seeds a named volume. Nothing is followed: the
   source is read through fds below a directory opened in the root. */
static int
copy_tree (int src, int dst, const char *where, stack_error_t **err)
{
  DIR *d;
  struct dirent *de;
  int dfd = dup (src), ret = 0;

  if (dfd < 0 || (d = fdopendir (dfd)) == NULL)
    {
      if (dfd >= 0)
        close (dfd);
      return stack_error_make (err, errno, "read `%s`", where);
    }
  while (ret == 0 && (de = readdir (d)))
    {
      cleanup_close int in = -1;
      cleanup_close int out = -1;
      cleanup_free char *path = NULL;
      struct timespec times[2];
      struct stat st;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      path = xasprintf ("%s/%s", where, de->d_name);
      if (fstatat (src, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          ret = stack_error_make (err, errno, "stat `%s`", path);
          break;
        }
      if (S_ISDIR (st.st_mode))
        {
          if (mkdirat (dst, de->d_name, 0700) < 0
              || (in = openat (src, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0
              || (out = openat (dst, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
                     < 0)
            ret = stack_error_make (err, errno, "copy `%s`", path);
          else
            ret = copy_tree (in, out, path, err);
        }
      else if (S_ISREG (st.st_mode))
        {
          off_t off = 0;
          in = openat (src, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
          out = openat (dst, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
          if (in < 0 || out < 0)
            ret = stack_error_make (err, errno, "copy `%s`", path);
          while (ret == 0 && off < st.st_size)
            {
              ssize_t n = sendfile (out, in, &off, (size_t) (st.st_size - off));
              if (n <= 0)
                ret = stack_error_make (err, n < 0 ? errno : EIO, "copy `%s`", path);
            }
        }
      else if (S_ISLNK (st.st_mode))
        {
          char link[PATH_MAX];
          ssize_t n = readlinkat (src, de->d_name, link, sizeof link - 1);
          if (n < 0 || (link[n] = '\0', symlinkat (link, dst, de->d_name)) < 0)
            ret = stack_error_make (err, errno, "copy `%s`", path);
        }
      else if (mknodat (dst, de->d_name, st.st_mode, st.st_rdev) < 0)
        ret = stack_error_make (err, errno, "copy `%s`", path);
      if (ret < 0)
        break;
      /* owner first: chown clears set-id bits */
      if (fchownat (dst, de->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0
          || (! S_ISLNK (st.st_mode) && fchmodat (dst, de->d_name, st.st_mode & 07777, 0) < 0))
        ret = stack_error_make (err, errno, "copy the owner and mode of `%s`", path);
      times[0] = st.st_atim;
      times[1] = st.st_mtim;
      utimensat (dst, de->d_name, times, AT_SYMLINK_NOFOLLOW);
    }
  closedir (d);
  return ret;
}

static bool
dir_is_empty (int fd)
{
  int dfd = dup (fd);
  DIR *d = dfd >= 0 ? fdopendir (dfd) : NULL;
  struct dirent *de;
  bool empty = true;

  if (d == NULL)
    {
      if (dfd >= 0)
        close (dfd);
      return false;
    }
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      {
        empty = false;
        break;
      }
  closedir (d);
  return empty;
}

static int
seed_volume (int root_fd, const rt_mount_t *m, stack_error_t **err)
{
  cleanup_close int src = -1;
  cleanup_close int dst = -1;
  struct stat st;

  src = openat2_fd (root_fd, m->target, O_RDONLY | O_DIRECTORY, RESOLVE_ROOT);
  if (src < 0)
    return 0; /* nothing in the image there */
  dst = open (m->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dst < 0)
    return stack_error_make (err, errno, "open volume `%s`", m->source);
  if (! dir_is_empty (dst))
    return 0;
  if (fstat (src, &st) < 0 || fchown (dst, st.st_uid, st.st_gid) < 0
      || fchmod (dst, st.st_mode & 07777) < 0)
    return stack_error_make (err, errno, "copy the owner and mode of `%s` to volume `%s`",
                             m->target, m->source);
  if (copy_tree (src, dst, m->target, err) < 0)
    return stack_error_wrap (err, "seed volume `%s`", m->source);
  return 0;
}

static int
mount_one (int root_fd, const rt_mount_t *m, stack_error_t **err)
{
  cleanup_close int src = -1;
  cleanup_close int fd = -1;
  unsigned long prop;
  struct stat st;

  if (m->target == NULL || m->target[0] != '/')
    return stack_error_make (err, EINVAL, "mount target `%s` is not an absolute path",
                             m->target ? m->target : "");
  if (m->type == RT_MOUNT_TMPFS)
    {
      cleanup_free char *data = NULL;
      strbuf_t b = { 0 };
      sb_printf (&b, "mode=%o", m->tmpfs_mode ? m->tmpfs_mode : 01777);
      if (m->tmpfs_size)
        sb_printf (&b, ",size=%llu", (unsigned long long) m->tmpfs_size);
      data = sb_steal (&b);
      /* Docker's default: noexec,nosuid,nodev; exec only when asked */
      return mount_in_root (root_fd, "tmpfs", m->target, false, "tmpfs",
                            MS_NOSUID | MS_NODEV | (m->tmpfs_exec ? 0 : MS_NOEXEC)
                                | (m->read_only ? MS_RDONLY : 0),
                            data, NULL, err);
    }

  if (propagation_flags (m->propagation, &prop) < 0)
    return stack_error_make (err, EINVAL, "mount on `%s`: unknown propagation `%s`", m->target,
                             m->propagation);
  if (m->source == NULL || m->source[0] != '/')
    return stack_error_make (err, EINVAL, "mount on `%s`: source `%s` is not an absolute path",
                             m->target, m->source ? m->source : "");
  if ((m->type == RT_MOUNT_VOLUME || m->create_source) && mkdir_p (m->source, 0755) < 0)
    return stack_error_make (err, errno, "create `%s`", m->source);
  if (m->type == RT_MOUNT_VOLUME && m->seed && seed_volume (root_fd, m, err) < 0)
    return -1;

  src = open (m->source, O_PATH | O_CLOEXEC);
  if (src < 0 || fstat (src, &st) < 0)
    return stack_error_make (err, errno, "bind source `%s`", m->source);
  if (mount_in_root (root_fd, fdp (src).s, m->target, ! S_ISDIR (st.st_mode), NULL,
                     MS_BIND | MS_REC, NULL, &fd, err)
      < 0)
    return stack_error_wrap (err, "bind `%s`", m->source);
  if (mount (NULL, fdp (fd).s, NULL, prop, NULL) < 0)
    return stack_error_make (err, errno, "set propagation `%s` on `%s`",
                             m->propagation ? m->propagation : "rprivate", m->target);
  if (m->read_only && make_ro (fd, true, m->target, err) < 0)
    return -1;
  return 0;
}

static bool
user_mounts_target (const container_spec_t *spec, const char *target)
{
  size_t i;

  for (i = 0; i < spec->n_mounts; i++)
    if (spec->mounts[i].target && strcmp (spec->mounts[i].target, target) == 0)
      return true;
  return false;
}

static int
setup_mounts (int root_fd, const container_spec_t *spec, stack_error_t **err)
{
  const struct
  {
    const char *source, *target;
  } etc[] = { { spec->hosts_file, "/etc/hosts" },
              { spec->hostname_file, "/etc/hostname" },
              { spec->resolv_file, "/etc/resolv.conf" } };
  size_t i;

  for (i = 0; i < spec->n_mounts; i++)
    if (mount_one (root_fd, &spec->mounts[i], err) < 0)
      return -1;
  /* ours, unless the user mounts their own file there */
  for (i = 0; i < ARRAY_SIZE (etc); i++)
    {
      rt_mount_t m = { .type = RT_MOUNT_BIND, .source = etc[i].source, .target = etc[i].target };
      if (etc[i].source == NULL || user_mounts_target (spec, etc[i].target))
        continue;
      if (mount_one (root_fd, &m, err) < 0)
        return -1;
    }
  return 0;
}

/* ---- after pivot_root ---- */

/* As runc and Docker: what leaks the host's state or lets the container
   poke the kernel. A missing path is fine (kernels differ). */
static const char *const masked_paths[]
    = { "/proc/asound",     "/proc/acpi",          "/proc/interrupts", "/proc/kcore",
        "/proc/keys",       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
        "/proc/sched_debug", "/proc/scsi",         "/sys/firmware",    "/sys/devices/virtual/powercap" };
static const char *const readonly_paths[]
    = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };

static int
mask_paths (stack_error_t **err)
{
  size_t i;

  for (i = 0; i < ARRAY_SIZE (masked_paths); i++)
    {
      cleanup_close int fd = open (masked_paths[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
      struct stat st;
      int ret;

      if (fd < 0 && errno == ENOENT)
        continue;
      if (fd < 0 || fstat (fd, &st) < 0)
        return stack_error_make (err, errno, "mask `%s`", masked_paths[i]);
      if (S_ISDIR (st.st_mode))
        ret = mount ("tmpfs", fdp (fd).s, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     "size=0,mode=555");
      else
        ret = mount ("/dev/null", fdp (fd).s, NULL, MS_BIND, NULL);
      if (ret < 0)
        return stack_error_make (err, errno, "mask `%s`", masked_paths[i]);
    }
  for (i = 0; i < ARRAY_SIZE (readonly_paths); i++)
    {
      cleanup_close int fd = open (readonly_paths[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
      cleanup_close int top = -1;

      if (fd < 0 && errno == ENOENT)
        continue;
      if (fd < 0 || mount (fdp (fd).s, fdp (fd).s, NULL, MS_BIND | MS_REC, NULL) < 0)
        return stack_error_make (err, errno, "bind `%s` read-only", readonly_paths[i]);
      top = open (readonly_paths[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (top < 0)
        return stack_error_make (err, errno, "open `%s`", readonly_paths[i]);
      if (make_ro (top, true, readonly_paths[i], err) < 0)
        return -1;
    }
  return 0;
}

static int
pivot (int root_fd, stack_error_t **err)
{
  if (fchdir (root_fd) < 0)
    return stack_error_make (err, errno, "chdir into the rootfs");
  /* pivot_root(".", ".") stacks the old root on top of the new one; the
     old root is then detached from "." (crun's and runc's trick: no
     directory for the old root is needed inside the image). */
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return stack_error_make (err, errno, "pivot_root");
  /* a slave first, so that unmounting never propagates to the host */
  if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return stack_error_make (err, errno, "make the old root a slave");
  if (umount2 (".", MNT_DETACH) < 0)
    return stack_error_make (err, errno, "detach the old root");
  if (chdir ("/") < 0)
    return stack_error_make (err, errno, "chdir `/`");
  return 0;
}

int
rt_rootfs_prepare (const container_spec_t *spec, stack_error_t **err)
{
  cleanup_close int root_fd = -1;

  /* Nothing we mount may propagate back to the host's namespace. */
  if (mount (NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return stack_error_make (err, errno, "make `/` a recursive slave");
  if (mount_overlay (spec, err) < 0)
    return -1;
  root_fd = open (spec->rootfs_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return stack_error_make (err, errno, "open `%s`", spec->rootfs_dir);

  if (setup_proc_sys (root_fd, spec, err) < 0 || setup_cgroup_fs (root_fd, spec, err) < 0
      || setup_dev (root_fd, spec, err) < 0 || setup_mounts (root_fd, spec, err) < 0)
    return -1;
  if (pivot (root_fd, err) < 0)
    return -1;

  /* the namespaced sysctls, before /proc/sys becomes read-only */
  if (spec->sysctls && rt_sysctls_apply (spec->sysctls, err) < 0)
    return -1;
  if (! spec->privileged && mask_paths (err) < 0)
    return -1;
  if (spec->read_only_root)
    {
      cleanup_close int fd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      /* the root mount only: /dev, /proc and the spec's mounts stay as they are */
      if (fd < 0 || make_ro (fd, false, "/", err) < 0)
        return stack_error_wrap (err, "read-only root");
    }
  return 0;
}

int
rt_pty_open (int *master, int *slave, stack_error_t **err)
{
  cleanup_close int m = -1;
  int s, unlock = 0;

  m = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return stack_error_make (err, errno, "open `/dev/ptmx`");
  if (ioctl (m, TIOCSPTLCK, &unlock) < 0)
    return stack_error_make (err, errno, "unlock the pty");
  /* the peer through the master, not by its name: a /dev/pts/N the
     container replaced cannot be handed to us */
  s = ioctl (m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0)
    return stack_error_make (err, errno, "open the pty's peer");
  *master = steal_fd (&m);
  *slave = s;
  return 0;
}

int
rt_rootfs_pty (int *master, int *slave, stack_error_t **err)
{
  cleanup_close int m = -1;
  cleanup_close int s = -1;
  cleanup_close int console = -1;

  if (rt_pty_open (&m, &s, err) < 0)
    return -1;
  console = open ("/dev/console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (console < 0)
    return stack_error_make (err, errno, "create `/dev/console`");
  if (mount (fdp (s).s, "/dev/console", NULL, MS_BIND, NULL) < 0)
    return stack_error_make (err, errno, "bind the pty on `/dev/console`");
  *master = steal_fd (&m);
  *slave = steal_fd (&s);
  return 0;
}
