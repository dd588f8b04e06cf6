/* bench_spawn.c — a benchmark, not a test: how long a container takes to
   start with our runtime and with crun, on the same busybox root
   filesystem, measured in the same run. Usage (root): bench_spawn [N]
   (default 100 runs of every variant, after 3 warm-up runs).

   The variants run interleaved (one of each per round), so that whatever
   else the machine does at the moment (other builds, page cache) weighs on
   all of them alike:

     host     fork + exec of the layer's /bin/true, no container: the floor
     stack    rt_container_create + rt_container_start ("→ exec": start
              returned, i.e. the exec happened), the exit seen by waitpid
              ("→ exit"), then rt_container_destroy ("→ exit+destroy");
              overlay of the layer with a fresh upper/work pair, a new cgroup
              "stack/bench-PID/cN" per container, default capabilities and
              seccomp filter; once more with init: true
     crun     `crun run` of a bundle that asks for what our spec gives (same
              namespaces, mounts, masked and read-only paths, capabilities,
              the same seccomp policy written as OCI JSON), timed from fork
              to waitpid; its root is an overlay of the same layer with a
              fresh upper/work pair, mounted by us inside the timed window
              (crun cannot mount one itself); also on the plain layer
              directory read-only, without cgroups, and as `crun create` +
              `crun start` (start returns once the container passed its
              exec fifo: the nearest thing to our "→ exec")

   crun 1.8 refuses the hybrid cgroup layout of some hosts (v1 controllers
   plus a cgroup2 at /sys/fs/cgroup/unified whose cgroup.controllers is not
   empty) before it even looks at --cgroup-manager, `disabled` included. We
   therefore run everything in a private mount namespace of our own in
   which an empty file is bound over that cgroup.controllers: crun then
   creates its cgroups like ours (cgroupfs manager). Nothing of it is
   visible on the host, and the namespace dies with us.

   Nothing is left behind: the scratch directory, every cgroup (ours via
   rt_cgroup_destroy, crun's via `crun delete -f` and rmdir), every crun
   container (ids "stackbench-PID-N", state in the scratch directory),
   every mount (all in our own namespace, unmounted after each run). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"
#include "bench-util.h"

#define WARMUP 3
#define CGROUP_MOUNT "/sys/fs/cgroup"
#define UNIFIED_CONTROLLERS CGROUP_MOUNT "/unified/cgroup.controllers"
#define PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum row
{
  R_HOST,
  R_EXEC,
  R_EXIT,
  R_DESTROYED,
  R_INIT_EXEC,
  R_INIT_EXIT,
  R_CRUN_RUN,
  R_CRUN_RUN_DIR,
  R_CRUN_RUN_NOCG,
  R_CRUN_START,
  R_CRUN_CS_EXIT,
  R_N
};

static const char *const row_names[R_N] = {
  "host: fork → exit, no container",
  "stack: spawn → exec",
  "stack: spawn → exit",
  "stack: spawn → exit+destroy",
  "stack: spawn → exec (init)",
  "stack: spawn → exit (init)",
  "crun run: fork → exit",
  "crun run, ro dir: fork → exit",
  "crun run, no cgroup: → exit",
  "crun create+start: → start",
  "crun create+start: → exit",
};

enum crun_mode
{
  CRUN_OVERLAY,
  CRUN_DIR,      /* root = the layer itself, read-only */
  CRUN_NOCGROUP, /* overlay, --cgroup-manager=disabled */
};

typedef struct bench
{
  char *dir;         /* scratch, removed at the end */
  char *layer;       /* busybox, /etc/passwd, /etc/group: the only layer */
  char *rootfs;      /* our rootfs_dir (mounted on in the containers only) */
  char *crun_rootfs; /* where we mount crun's overlay */
  char *bundle, *config, *state_opt, *pidfile, *log;
  char *crun;        /* crun's path */
  char *cg_keep;     /* "stack/bench-PID/keep" */
  char *crun_cg;     /* "stack/bench-PID-crun" */
  char *crun_id;     /* a crun container that may exist, for the cleanup */
  bool crun_mounted, keep_created, hid_controllers;
  char **new_stack;  /* hierarchies whose "stack" dir did not exist before us */
  size_t n_new_stack;
  int devnull, logfd;
  unsigned n; /* containers so far: names ids, cgroups, upper dirs */
} bench_t;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static int
rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st, (void) flag, (void) ftw;
  return remove (path);
}

static void
rm_tree (const char *path)
{
  if (path && nftw (path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
    fprintf (stderr, "bench_spawn: remove `%s`: %s\n", path, strerror (errno));
}

static int
write_text (const char *path, const char *text, unsigned mode, stack_error_t **err)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  size_t len = strlen (text);

  if (fd < 0 || write (fd, text, len) != (ssize_t) len)
    return stack_error_make (err, errno, "write `%s`", path);
  return 0;
}

static int
make_dir (const char *path, unsigned mode, stack_error_t **err)
{
  if (mkdir_p (path, mode) < 0)
    return stack_error_make (err, errno, "mkdir `%s`", path);
  return 0;
}

static char *
find_crun (void)
{
  const char *path = getenv ("PATH");
  cleanup_free char *copy = xstrdup (path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  char *dir, *save = NULL;

  for (dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      char *p = xasprintf ("%s/crun", dir);
      if (access (p, X_OK) == 0)
        return p;
      free (p);
    }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* The layer: busybox-static and what /bin/true needs                  */
/* ------------------------------------------------------------------ */

static int
make_layer (bench_t *b, stack_error_t **err)
{
  static const char *const dirs[] = { "/bin", "/proc", "/sys", "/dev", "/etc", "/root", "/tmp" };
  static const char *const applets[] = { "true", "sh" };
  cleanup_free char *bin = NULL;
  cleanup_close int in = -1;
  cleanup_close int out = -1;
  char buf[65536];
  ssize_t n;
  size_t i;

  for (i = 0; i < ARRAY_SIZE (dirs); i++)
    {
      cleanup_free char *d = xasprintf ("%s%s", b->layer, dirs[i]);
      if (make_dir (d, strcmp (dirs[i], "/tmp") == 0 ? 01777 : 0755, err) < 0)
        return -1;
    }
  /* a copy, not a link: the layer must not lead back to the host */
  bin = xasprintf ("%s/bin/busybox", b->layer);
  in = open ("/bin/busybox", O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return stack_error_make (err, errno, "open `/bin/busybox` (install busybox-static)");
  out = open (bin, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (out < 0)
    return stack_error_make (err, errno, "create `%s`", bin);
  while ((n = read (in, buf, sizeof buf)) > 0)
    if (write (out, buf, (size_t) n) != n)
      return stack_error_make (err, errno, "write `%s`", bin);
  if (n < 0)
    return stack_error_make (err, errno, "read `/bin/busybox`");
  for (i = 0; i < ARRAY_SIZE (applets); i++)
    {
      cleanup_free char *link = xasprintf ("%s/bin/%s", b->layer, applets[i]);
      if (symlink ("busybox", link) < 0)
        return stack_error_make (err, errno, "symlink `%s`", link);
    }
  {
    cleanup_free char *passwd = xasprintf ("%s/etc/passwd", b->layer);
    cleanup_free char *group = xasprintf ("%s/etc/group", b->layer);
    if (write_text (passwd, "root:x:0:0:root:/root:/bin/sh\n", 0644, err) < 0
        || write_text (group, "root:x:0:\n", 0644, err) < 0)
      return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* crun's bundle: what our spec gives, as an OCI config                */
/* ------------------------------------------------------------------ */

static const char *const cap_names[] = {
  "CAP_CHOWN",           "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
  "CAP_FSETID",          "CAP_KILL",          "CAP_SETGID",          "CAP_SETUID",
  "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",       "CAP_NET_RAW",       "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",     "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",      "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
  "CAP_LEASE",           "CAP_AUDIT_WRITE",   "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",     "CAP_SYSLOG",          "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",    "CAP_PERFMON",         "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
};

/* rt_default_caps () by name; the table is checked against rt_cap_parse. */
static json_t *
caps_json (stack_error_t **err)
{
  uint64_t caps = rt_default_caps (), bits;
  json_t *a = json_array ();
  size_t i;

  for (i = 0; i < ARRAY_SIZE (cap_names); i++)
    {
      if (!rt_cap_parse (cap_names[i], &bits) || bits != 1ULL << i)
        {
          json_decref (a);
          stack_error_make (err, EINVAL, "capability table: `%s` is not bit %zu", cap_names[i], i);
          return NULL;
        }
      if (caps & bits)
        json_array_append_new (a, json_string (cap_names[i]));
    }
  return a;
}

#define NO_CAP (-1)

/* The default filter of runtime/seccomp.c with rt_default_caps (): the
   same deny rules, written as OCI JSON for crun (keep the two in step).
   The ptrace rules it adds before Linux 4.8 are left out: this runs on
   newer kernels. */
static const struct
{
  const char *name;
  int cap, cap2;
} deny_rules[] = {
  { "add_key", NO_CAP, NO_CAP },       { "keyctl", NO_CAP, NO_CAP },
  { "request_key", NO_CAP, NO_CAP },   { "kexec_load", NO_CAP, NO_CAP },
  { "kexec_file_load", NO_CAP, NO_CAP }, { "create_module", NO_CAP, NO_CAP },
  { "get_kernel_syms", NO_CAP, NO_CAP }, { "query_module", NO_CAP, NO_CAP },
  { "nfsservctl", NO_CAP, NO_CAP },    { "uselib", NO_CAP, NO_CAP },
  { "ustat", NO_CAP, NO_CAP },         { "sysfs", NO_CAP, NO_CAP },
  { "_sysctl", NO_CAP, NO_CAP },       { "userfaultfd", NO_CAP, NO_CAP },
  { "move_pages", NO_CAP, NO_CAP },    { "migrate_pages", NO_CAP, NO_CAP },
  { "swapon", NO_CAP, NO_CAP },        { "swapoff", NO_CAP, NO_CAP },
  { "vm86", NO_CAP, NO_CAP },          { "vm86old", NO_CAP, NO_CAP },
  { "pivot_root", NO_CAP, NO_CAP },    { "io_uring_setup", NO_CAP, NO_CAP },
  { "io_uring_enter", NO_CAP, NO_CAP }, { "io_uring_register", NO_CAP, NO_CAP },
  { "mount", CAP_SYS_ADMIN, NO_CAP },  { "umount", CAP_SYS_ADMIN, NO_CAP },
  { "umount2", CAP_SYS_ADMIN, NO_CAP }, { "mount_setattr", CAP_SYS_ADMIN, NO_CAP },
  { "move_mount", CAP_SYS_ADMIN, NO_CAP }, { "open_tree", CAP_SYS_ADMIN, NO_CAP },
  { "fsopen", CAP_SYS_ADMIN, NO_CAP }, { "fsconfig", CAP_SYS_ADMIN, NO_CAP },
  { "fsmount", CAP_SYS_ADMIN, NO_CAP }, { "fspick", CAP_SYS_ADMIN, NO_CAP },
  { "unshare", CAP_SYS_ADMIN, NO_CAP }, { "setns", CAP_SYS_ADMIN, NO_CAP },
  { "sethostname", CAP_SYS_ADMIN, NO_CAP }, { "setdomainname", CAP_SYS_ADMIN, NO_CAP },
  { "quotactl", CAP_SYS_ADMIN, NO_CAP }, { "quotactl_fd", CAP_SYS_ADMIN, NO_CAP },
  { "fanotify_init", CAP_SYS_ADMIN, NO_CAP }, { "lookup_dcookie", CAP_SYS_ADMIN, NO_CAP },
  { "bpf", CAP_SYS_ADMIN, CAP_BPF },   { "perf_event_open", CAP_SYS_ADMIN, CAP_PERFMON },
  { "syslog", CAP_SYS_ADMIN, CAP_SYSLOG }, { "reboot", CAP_SYS_BOOT, NO_CAP },
  { "chroot", CAP_SYS_CHROOT, NO_CAP }, { "init_module", CAP_SYS_MODULE, NO_CAP },
  { "finit_module", CAP_SYS_MODULE, NO_CAP }, { "delete_module", CAP_SYS_MODULE, NO_CAP },
  { "acct", CAP_SYS_PACCT, NO_CAP },   { "kcmp", CAP_SYS_PTRACE, NO_CAP },
  { "pidfd_getfd", CAP_SYS_PTRACE, NO_CAP }, { "process_madvise", CAP_SYS_PTRACE, NO_CAP },
  { "iopl", CAP_SYS_RAWIO, NO_CAP },   { "ioperm", CAP_SYS_RAWIO, NO_CAP },
  { "settimeofday", CAP_SYS_TIME, NO_CAP }, { "stime", CAP_SYS_TIME, NO_CAP },
  { "clock_settime", CAP_SYS_TIME, NO_CAP }, { "clock_settime64", CAP_SYS_TIME, NO_CAP },
  { "vhangup", CAP_SYS_TTY_CONFIG, NO_CAP }, { "get_mempolicy", CAP_SYS_NICE, NO_CAP },
  { "set_mempolicy", CAP_SYS_NICE, NO_CAP }, { "set_mempolicy_home_node", CAP_SYS_NICE, NO_CAP },
  { "mbind", CAP_SYS_NICE, NO_CAP },   { "open_by_handle_at", CAP_DAC_READ_SEARCH, NO_CAP },
};

static bool
has_cap (uint64_t caps, int cap)
{
  return cap != NO_CAP && (caps & (1ULL << cap)) != 0;
}

/* One rule: `name` fails with `e` when arg 0 matches (op, a, b), or always. */
static void
add_rule (json_t *rules, const char *name, int e, const char *op, uint64_t a, uint64_t b)
{
  json_t *r = json_pack ("{s:[s], s:s, s:i}", "names", name, "action", "SCMP_ACT_ERRNO",
                         "errnoRet", e);
  if (op)
    json_object_set_new (r, "args",
                         json_pack ("[{s:i, s:I, s:I, s:s}]", "index", 0, "value", (json_int_t) a,
                                    "valueTwo", (json_int_t) b, "op", op));
  json_array_append_new (rules, r);
}

static json_t *
seccomp_json (void)
{
  static const uint64_t clone_ns[] = { CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                       CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP };
  const uint32_t other = ~(uint32_t) (PER_LINUX32 | UNAME26);
  const uint32_t all_other_set[] = { other, other | PER_LINUX32, other | UNAME26 };
  uint64_t caps = rt_default_caps ();
  json_t *rules = json_array (), *names = json_array (), *arches;
  int bit, prev = -1;
  size_t i;

  for (i = 0; i < ARRAY_SIZE (deny_rules); i++)
    if (!has_cap (caps, deny_rules[i].cap) && !has_cap (caps, deny_rules[i].cap2))
      json_array_append_new (names, json_string (deny_rules[i].name));
  json_array_append_new (rules, json_pack ("{s:o, s:s, s:i}", "names", names, "action",
                                           "SCMP_ACT_ERRNO", "errnoRet", EPERM));
  if (!has_cap (caps, CAP_SYS_ADMIN))
    {
      for (i = 0; i < ARRAY_SIZE (clone_ns); i++)
        add_rule (rules, "clone", EPERM, "SCMP_CMP_MASKED_EQ", clone_ns[i], clone_ns[i]);
      add_rule (rules, "clone3", ENOSYS, NULL, 0, 0);
    }
  /* personality: the same union of masked comparisons as seccomp.c */
  for (bit = 0; bit < 32; bit++)
    {
      if ((other & (1U << bit)) == 0)
        continue;
      if (prev >= 0)
        {
          uint32_t a = 1U << prev, b = 1U << bit;
          add_rule (rules, "personality", EPERM, "SCMP_CMP_MASKED_EQ", a | b, a);
          add_rule (rules, "personality", EPERM, "SCMP_CMP_MASKED_EQ", a | b, b);
        }
      prev = bit;
    }
  for (i = 0; i < ARRAY_SIZE (all_other_set); i++)
    add_rule (rules, "personality", EPERM, "SCMP_CMP_MASKED_EQ", 0xffffffffU, all_other_set[i]);
  add_rule (rules, "socket", EPERM, "SCMP_CMP_EQ", AF_VSOCK, 0);

#if defined(__x86_64__)
  arches = json_pack ("[s, s, s]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
#elif defined(__aarch64__)
  arches = json_pack ("[s, s]", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
#else
  arches = json_array ();
#endif
  return json_pack ("{s:s, s:o, s:o}", "defaultAction", "SCMP_ACT_ALLOW", "architectures", arches,
                    "syscalls", rules);
}

static const char *const masked_paths[]
    = { "/proc/asound",      "/proc/acpi",          "/proc/interrupts", "/proc/kcore",
        "/proc/keys",        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
        "/proc/sched_debug", "/proc/scsi",          "/sys/firmware",    "/sys/devices/virtual/powercap" };
static const char *const readonly_paths[]
    = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };

static json_t *
strings_json (const char *const *s, size_t n)
{
  json_t *a = json_array ();
  size_t i;

  for (i = 0; i < n; i++)
    json_array_append_new (a, json_string (s[i]));
  return a;
}

/* The mounts rootfs.c makes, with its flags; no /sys/fs/cgroup (we mount none). */
static json_t *
mounts_json (void)
{
  return json_pack (
      "[{s:s, s:s, s:s, s:[s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s,s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s,s]}]",
      "destination", "/proc", "type", "proc", "source", "proc", "options", "nosuid", "noexec",
      "nodev", "destination", "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid",
      "strictatime", "mode=755", "size=65536k", "destination", "/dev/pts", "type", "devpts",
      "source", "devpts", "options", "nosuid", "noexec", "newinstance", "ptmxmode=0666",
      "mode=0620", "gid=5", "destination", "/dev/shm", "type", "tmpfs", "source", "shm", "options",
      "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", "destination", "/dev/mqueue", "type",
      "mqueue", "source", "mqueue", "options", "nosuid", "noexec", "nodev", "destination", "/sys",
      "type", "sysfs", "source", "sysfs", "options", "nosuid", "noexec", "nodev", "ro");
}

static int
write_config (bench_t *b, const char *root, bool read_only, const char *cgroups_path,
              stack_error_t **err)
{
  json_t *caps, *linux_, *config;
  int ret;

  caps = caps_json (err);
  if (caps == NULL)
    return -1;
  linux_ = json_pack ("{s:[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}], s:o, s:o, s:o}", "namespaces",
                      "type", "pid", "type", "network", "type", "ipc", "type", "uts", "type",
                      "mount", "type", "cgroup", "maskedPaths",
                      strings_json (masked_paths, ARRAY_SIZE (masked_paths)), "readonlyPaths",
                      strings_json (readonly_paths, ARRAY_SIZE (readonly_paths)), "seccomp",
                      seccomp_json ());
  if (cgroups_path)
    json_object_set_new (linux_, "cgroupsPath", json_string (cgroups_path));
  config = json_pack ("{s:s, s:{s:b, s:{s:i, s:i}, s:[s], s:[s,s], s:s, s:{s:O, s:O, s:o},"
                      " s:b}, s:{s:s, s:b}, s:s, s:o, s:o}",
                      "ociVersion", "1.0.0", "process", "terminal", 0, "user", "uid", 0, "gid", 0,
                      "args", "/bin/true", "env", PATH_ENV, "HOME=/root", "cwd", "/",
                      "capabilities", "bounding", caps, "effective", caps, "permitted", caps,
                      "noNewPrivileges", 0, "root", "path", root, "readonly", read_only,
                      "hostname", "bench", "mounts", mounts_json (), "linux", linux_);
  if (config == NULL)
    return stack_error_make (err, EINVAL, "build config.json");
  ret = json_dump_file (config, b->config, JSON_INDENT (2));
  json_decref (config);
  if (ret < 0)
    return stack_error_make (err, errno, "write `%s`", b->config);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Running things                                                      */
/* ------------------------------------------------------------------ */

/* fork, exec, waitpid: stdin and stdout /dev/null, stderr into our log. */
static int
run_cmd (bench_t *b, const char *path, const char *const *argv, int *status, stack_error_t **err)
{
  pid_t pid;

  pid = fork ();
  if (pid < 0)
    return stack_error_make (err, errno, "fork");
  if (pid == 0)
    {
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      if (dup2 (b->devnull, 0) < 0 || dup2 (b->devnull, 1) < 0 || dup2 (b->logfd, 2) < 0)
        _exit (126);
      execv (path, (char *const *) argv);
      _exit (127);
    }
  while (waitpid (pid, status, 0) < 0)
    if (errno != EINTR)
      return stack_error_make (err, errno, "waitpid %d", (int) pid);
  return 0;
}

/* "what failed: exit status N" with crun's own words from the log. */
static int
status_error (bench_t *b, const char *what, int status, stack_error_t **err)
{
  cleanup_free char *log = NULL;
  stack_error_t *e = NULL;

  if (read_file (b->log, &log, NULL, &e) < 0)
    stack_error_free (&e);
  log = log ? log : xstrdup ("");
  log[strcspn (log, "\n")] = '\0';
  if (WIFEXITED (status))
    return stack_error_make (err, 0, "%s: exit status %d%s%s", what, WEXITSTATUS (status),
                             *log ? ": " : "", log);
  return stack_error_make (err, 0, "%s: killed by signal %d", what, WTERMSIG (status));
}

/* The layer's own /bin/true, outside any container. */
static int
run_host (bench_t *b, double *ms, stack_error_t **err)
{
  static const char *const argv[] = { "true", NULL };
  cleanup_free char *path = xasprintf ("%s/bin/busybox", b->layer);
  double t0 = now_ms ();
  int status;

  if (run_cmd (b, path, argv, &status, err) < 0)
    return -1;
  *ms = now_ms () - t0;
  if (status != 0)
    return status_error (b, "/bin/true on the host", status, err);
  return 0;
}

static int
run_stack (bench_t *b, bool init, double *exec_ms, double *exit_ms, double *destroyed_ms,
           stack_error_t **err)
{
  static const char *const argv[] = { "/bin/true", NULL };
  static const char *const env[] = { PATH_ENV, "HOME=/root", NULL };
  rt_container_t c = { .pid = -1, .pidfd = -1, .sync_fd = -1, .pty_fd = -1 };
  container_spec_t spec = { 0 };
  const char *layers[1] = { b->layer };
  unsigned n = b->n++;
  cleanup_free char *upper = xasprintf ("%s/upper%u", b->dir, n);
  cleanup_free char *work = xasprintf ("%s/work%u", b->dir, n);
  cleanup_free char *cgroup = xasprintf ("stack/bench-%d/c%u", (int) getpid (), n);
  stack_error_t *e2 = NULL;
  double t0, t1, t2;
  int ret, status = -1;

  if (make_dir (upper, 0755, err) < 0 || make_dir (work, 0700, err) < 0)
    return -1;
  spec.id = strrchr (cgroup, '/') + 1;
  spec.cgroup_path = cgroup;
  spec.rootfs_dir = b->rootfs;
  spec.layers = layers;
  spec.n_layers = 1;
  spec.upper_dir = upper;
  spec.work_dir = work;
  spec.argv = argv;
  spec.env = env;
  spec.hostname = "bench";
  spec.caps = rt_default_caps ();
  spec.init = init;
  spec.stdin_fd = spec.stdout_fd = spec.stderr_fd = -1;

  t0 = now_ms ();
  ret = rt_container_create (&spec, &c, err);
  if (ret < 0)
    goto out; /* create cleaned up after itself */
  ret = rt_container_start (&c, err);
  t1 = now_ms ();
  if (ret < 0)
    {
      rt_container_kill (&c, SIGKILL, &e2);
      stack_error_free (&e2);
    }
  while (waitpid (c.pid, &status, 0) < 0 && errno == EINTR)
    ;
  t2 = now_ms ();
  if (rt_container_destroy (&c, ret < 0 ? &e2 : err) < 0 && ret == 0)
    ret = -1;
  stack_error_free (&e2);
  *exec_ms = t1 - t0;
  *exit_ms = t2 - t0;
  *destroyed_ms = now_ms () - t0;
  if (ret == 0 && status != 0)
    ret = stack_error_make (err, 0, "container `%s`: /bin/true ended with wait status %#x",
                            spec.id, status);
out:
  rm_tree (upper);
  rm_tree (work);
  return ret;
}

static int
crun_delete (bench_t *b, const char *id)
{
  const char *argv[] = { "crun", b->state_opt, "delete", "-f", id, NULL };
  stack_error_t *err = NULL;
  int status = -1;

  if (run_cmd (b, b->crun, argv, &status, &err) < 0)
    stack_error_free (&err);
  return status == 0 ? 0 : -1;
}

/* Zombies of crun's helpers re-parented to us (we are their subreaper). */
static void
reap_strays (void)
{
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
}

static int
mount_overlay (bench_t *b, const char *upper, const char *work, stack_error_t **err)
{
  cleanup_free char *opts
      = xasprintf ("lowerdir=%s,upperdir=%s,workdir=%s", b->layer, upper, work);

  if (mount ("overlay", b->crun_rootfs, "overlay", 0, opts) < 0)
    return stack_error_make (err, errno, "mount overlay on `%s`", b->crun_rootfs);
  b->crun_mounted = true;
  return 0;
}

static void
umount_overlay (bench_t *b)
{
  if (b->crun_mounted && umount2 (b->crun_rootfs, MNT_DETACH) < 0)
    fprintf (stderr, "bench_spawn: umount `%s`: %s\n", b->crun_rootfs, strerror (errno));
  b->crun_mounted = false;
}

/* `crun run` (create_start false) or `crun create` + `crun start`. */
static int
run_crun (bench_t *b, enum crun_mode mode, bool create_start, double *start_ms, double *exit_ms,
          stack_error_t **err)
{
  unsigned n = b->n++;
  cleanup_free char *upper = xasprintf ("%s/upper%u", b->dir, n);
  cleanup_free char *work = xasprintf ("%s/work%u", b->dir, n);
  cleanup_free char *cg = xasprintf ("/%s/c%u", b->crun_cg, n);
  cleanup_free char *id = xasprintf ("stackbench-%d-%u", (int) getpid (), n);
  cleanup_free char *pid_text = NULL;
  const char *manager
      = mode == CRUN_NOCGROUP ? "--cgroup-manager=disabled" : "--cgroup-manager=cgroupfs";
  const char *run[] = { "crun", b->state_opt, manager, "run", "--bundle", b->bundle, id, NULL };
  const char *create[] = { "crun",  b->state_opt, manager, "create", "--bundle",
                           b->bundle, "--pid-file", b->pidfile, id, NULL };
  const char *start[] = { "crun", b->state_opt, manager, "start", id, NULL };
  cleanup_close int pidfd = -1;
  struct pollfd pfd;
  double t0;
  int status, ret = -1;
  pid_t pid;

  if (mode != CRUN_DIR && (make_dir (upper, 0755, err) < 0 || make_dir (work, 0700, err) < 0))
    goto out;
  if (write_config (b, mode == CRUN_DIR ? b->layer : b->crun_rootfs, mode == CRUN_DIR,
                    mode == CRUN_NOCGROUP ? NULL : cg, err)
      < 0)
    goto out;
  if (ftruncate (b->logfd, 0) < 0)
    {
      stack_error_make (err, errno, "truncate `%s`", b->log);
      goto out;
    }
  unlink (b->pidfile);
  b->crun_id = id;

  t0 = now_ms ();
  if (mode != CRUN_DIR && mount_overlay (b, upper, work, err) < 0)
    goto out;
  if (!create_start)
    {
      if (run_cmd (b, b->crun, run, &status, err) < 0)
        goto out;
      *exit_ms = now_ms () - t0;
      if (status != 0)
        {
          status_error (b, "crun run", status, err);
          goto out;
        }
      ret = 0;
      goto out;
    }

  if (run_cmd (b, b->crun, create, &status, err) < 0)
    goto out;
  if (status != 0)
    {
      status_error (b, "crun create", status, err);
      goto out;
    }
  if (run_cmd (b, b->crun, start, &status, err) < 0)
    goto out;
  *start_ms = now_ms () - t0;
  if (status != 0)
    {
      status_error (b, "crun start", status, err);
      goto out;
    }
  if (read_file (b->pidfile, &pid_text, NULL, err) < 0)
    goto out;
  pid = (pid_t) strtol (pid_text, NULL, 10);
  /* crun create has exited: the container's process is our child now
     (PR_SET_CHILD_SUBREAPER); the pidfd sees its exit either way */
  pidfd = pid > 0 ? (int) syscall (SYS_pidfd_open, pid, 0) : -1;
  if (pidfd < 0)
    {
      stack_error_make (err, errno, "pidfd_open %d (crun's container)", (int) pid);
      goto out;
    }
  pfd = (struct pollfd) { .fd = pidfd, .events = POLLIN };
  while (poll (&pfd, 1, -1) < 0 && errno == EINTR)
    ;
  *exit_ms = now_ms () - t0;
  if (waitpid (pid, &status, 0) == pid && status != 0)
    {
      stack_error_make (err, 0, "crun's container: /bin/true ended with wait status %#x", status);
      goto out;
    }
  ret = 0;

out:
  if (create_start || ret < 0)
    crun_delete (b, id);
  b->crun_id = NULL;
  umount_overlay (b);
  reap_strays ();
  rm_tree (upper);
  rm_tree (work);
  return ret;
}

/* ------------------------------------------------------------------ */
/* Our own mount namespace, and what crun leaves in the cgroup trees   */
/* ------------------------------------------------------------------ */

static bool
is_fs (const char *path, long type)
{
  struct statfs sfs;
  return statfs (path, &sfs) == 0 && (long) sfs.f_type == type;
}

/* The hierarchies: /sys/fs/cgroup itself on v2, else each mount below it. */
static size_t
hierarchies (char ***out)
{
  DIR *d;
  struct dirent *de;
  size_t n = 0;

  *out = NULL;
  if (is_fs (CGROUP_MOUNT, CGROUP2_SUPER_MAGIC))
    {
      *out = xmalloc (sizeof **out);
      (*out)[n++] = xstrdup (CGROUP_MOUNT);
      return n;
    }
  d = opendir (CGROUP_MOUNT);
  if (d == NULL)
    return 0;
  while ((de = readdir (d)))
    {
      char *p;
      if (de->d_type != DT_DIR || de->d_name[0] == '.')
        continue; /* "cpu -> cpu,cpuacct" links name a hierarchy twice */
      p = xasprintf ("%s/%s", CGROUP_MOUNT, de->d_name);
      if (!is_fs (p, CGROUP_SUPER_MAGIC) && !is_fs (p, CGROUP2_SUPER_MAGIC))
        {
          free (p);
          continue;
        }
      *out = xrealloc (*out, (n + 1) * sizeof **out);
      (*out)[n++] = p;
    }
  closedir (d);
  return n;
}

static void
free_strv (char **v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    free (v[i]);
  free (v);
}

/* Does our runtime use this hierarchy (one of its v1 controllers, or v2)? */
static bool
ours_uses (const char *hierarchy)
{
  static const char *const used[]
      = { "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "freezer", "devices" };
  cleanup_free char *names = xstrdup (strrchr (hierarchy, '/') + 1);
  char *tok, *save = NULL;
  size_t i;

  if (strcmp (hierarchy, CGROUP_MOUNT) == 0)
    return true;
  for (tok = strtok_r (names, ",", &save); tok; tok = strtok_r (NULL, ",", &save))
    for (i = 0; i < ARRAY_SIZE (used); i++)
      if (strcmp (tok, used[i]) == 0)
        return true;
  return false;
}

/* crun also joins hierarchies ours does not (name=systemd, the cgroup2 at
   unified): remember where "stack" is new, to remove it when we go. */
static void
note_new_stack_dirs (bench_t *b)
{
  char **h;
  size_t n = hierarchies (&h), i;

  for (i = 0; i < n; i++)
    {
      cleanup_free char *p = xasprintf ("%s/stack", h[i]);
      struct stat st;
      if (ours_uses (h[i]) || stat (p, &st) == 0)
        continue;
      b->new_stack = xrealloc (b->new_stack, (b->n_new_stack + 1) * sizeof *b->new_stack);
      b->new_stack[b->n_new_stack++] = steal_pointer (&p);
    }
  free_strv (h, n);
}

static void
remove_crun_cgroups (bench_t *b)
{
  char **h;
  size_t n = hierarchies (&h), i;

  for (i = 0; i < n; i++)
    {
      cleanup_free char *parent = xasprintf ("%s/%s", h[i], b->crun_cg);
      DIR *d = opendir (parent);
      struct dirent *de;

      if (d == NULL)
        continue;
      while ((de = readdir (d)))
        if (de->d_type == DT_DIR && de->d_name[0] != '.')
          {
            cleanup_free char *leaf = xasprintf ("%s/%s", parent, de->d_name);
            if (rmdir (leaf) < 0)
              fprintf (stderr, "bench_spawn: rmdir `%s`: %s\n", leaf, strerror (errno));
          }
      closedir (d);
      if (rmdir (parent) < 0 && errno != ENOENT)
        fprintf (stderr, "bench_spawn: rmdir `%s`: %s\n", parent, strerror (errno));
    }
  free_strv (h, n);
  for (i = 0; i < b->n_new_stack; i++)
    if (rmdir (b->new_stack[i]) < 0 && errno != ENOENT)
      fprintf (stderr, "bench_spawn: rmdir `%s`: %s\n", b->new_stack[i], strerror (errno));
}

/* A mount namespace of our own (a slave of the host's: nothing we mount
   goes back), where crun's hybrid check reads an empty cgroup.controllers. */
static int
enter_own_namespace (bench_t *b, stack_error_t **err)
{
  cleanup_free char *controllers = NULL;
  cleanup_free char *empty = xasprintf ("%s/empty", b->dir);
  stack_error_t *e = NULL;

  if (unshare (CLONE_NEWNS) < 0)
    return stack_error_make (err, errno, "unshare the mount namespace");
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    return stack_error_make (err, errno, "make `/` a recursive slave");
  if (is_fs (CGROUP_MOUNT, CGROUP2_SUPER_MAGIC)
      || !is_fs (CGROUP_MOUNT "/unified", CGROUP2_SUPER_MAGIC))
    return 0;
  if (read_file (UNIFIED_CONTROLLERS, &controllers, NULL, &e) < 0 || controllers[0] == '\0')
    {
      stack_error_free (&e);
      return 0;
    }
  if (write_text (empty, "", 0644, err) < 0)
    return -1;
  if (mount (empty, UNIFIED_CONTROLLERS, NULL, MS_BIND, NULL) < 0)
    return stack_error_make (err, errno, "bind an empty file on `%s`", UNIFIED_CONTROLLERS);
  b->hid_controllers = true;
  return 0;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

static double
median (const double *v, size_t n)
{
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
p90 (const double *v, size_t n)
{
  size_t i = (n * 9 + 9) / 10; /* ceil (0.9 n), 1-based */
  return v[i > 0 ? i - 1 : 0];
}

/* printf's widths count bytes; "→" is three of them */
static void
print_label (const char *s, int width)
{
  int cols = 0;
  const char *p;

  for (p = s; *p; p++)
    cols += ((unsigned char) *p & 0xc0) != 0x80;
  printf ("%s%*s", s, width > cols ? width - cols : 0, "");
}

static void
print_table (double *ms[R_N], size_t n)
{
  size_t r;

  print_label ("what", 34);
  printf ("%6s %8s %8s %8s   (ms)\n", "runs", "min", "median", "p90");
  for (r = 0; r < R_N; r++)
    {
      qsort (ms[r], n, sizeof *ms[r], dbl_cmp);
      print_label (row_names[r], 34);
      printf ("%6zu %8.2f %8.2f %8.2f\n", n, ms[r][0], median (ms[r], n), p90 (ms[r], n));
    }
  printf ("ratio stack/crun (→ exit, median)              %5.2f   (stack spawn → exit / crun run)\n",
          median (ms[R_EXIT], n) / median (ms[R_CRUN_RUN], n));
  printf ("ratio stack/crun, both removing what they made %5.2f   (stack → exit+destroy / crun run)\n",
          median (ms[R_DESTROYED], n) / median (ms[R_CRUN_RUN], n));
  printf ("ratio stack/crun (→ exec, median)              %5.2f   (stack spawn → exec / crun "
          "create+start)\n",
          median (ms[R_EXEC], n) / median (ms[R_CRUN_START], n));
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static int
setup (bench_t *b, stack_error_t **err)
{
  char tmpl[] = "/tmp/stack-bench-XXXXXX";
  rt_limits_t none = { 0 };
  cleanup_free char *state = NULL;
  pid_t self = getpid ();

  if (mkdtemp (tmpl) == NULL)
    return stack_error_make (err, errno, "mkdtemp `%s`", tmpl);
  b->dir = xstrdup (tmpl);
  b->layer = xasprintf ("%s/layer", b->dir);
  b->rootfs = xasprintf ("%s/rootfs", b->dir);
  b->crun_rootfs = xasprintf ("%s/crun-rootfs", b->dir);
  b->bundle = xasprintf ("%s/bundle", b->dir);
  b->config = xasprintf ("%s/config.json", b->bundle);
  b->pidfile = xasprintf ("%s/crun.pid", b->dir);
  b->log = xasprintf ("%s/crun.log", b->dir);
  state = xasprintf ("%s/crun-state", b->dir);
  b->state_opt = xasprintf ("--root=%s", state);
  b->cg_keep = xasprintf ("stack/bench-%d/keep", (int) self);
  b->crun_cg = xasprintf ("stack/bench-%d-crun", (int) self);
  if (make_dir (b->layer, 0755, err) < 0 || make_dir (b->rootfs, 0755, err) < 0
      || make_dir (b->crun_rootfs, 0755, err) < 0 || make_dir (b->bundle, 0755, err) < 0
      || make_dir (state, 0700, err) < 0 || make_layer (b, err) < 0)
    return -1;
  b->devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  b->logfd = open (b->log, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (b->devnull < 0 || b->logfd < 0)
    return stack_error_make (err, errno, "open `/dev/null` or `%s`", b->log);
  /* crun create's container outlives crun create: it must become ours */
  if (prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return stack_error_make (err, errno, "PR_SET_CHILD_SUBREAPER");
  note_new_stack_dirs (b);
  if (enter_own_namespace (b, err) < 0)
    return -1;
  /* A project's cgroup outlives its containers: keep "stack/bench-PID"
     alive with a sibling, as crun's parent stays (it removes the leaf only) */
  if (rt_cgroup_create (b->cg_keep, &none, err) < 0)
    return -1;
  b->keep_created = true;
  return 0;
}

static void
teardown (bench_t *b)
{
  stack_error_t *err = NULL;

  if (b->crun_id)
    crun_delete (b, b->crun_id);
  umount_overlay (b);
  reap_strays ();
  if (b->keep_created && rt_cgroup_destroy (b->cg_keep, "stack", &err) < 0)
    {
      fprintf (stderr, "bench_spawn: %s\n", err->msg);
      stack_error_free (&err);
    }
  if (b->crun_cg)
    remove_crun_cgroups (b);
  rm_tree (b->dir);
  if (b->devnull >= 0)
    close (b->devnull);
  if (b->logfd >= 0)
    close (b->logfd);
  free (b->dir);
  free (b->layer);
  free (b->rootfs);
  free (b->crun_rootfs);
  free (b->bundle);
  free (b->config);
  free (b->state_opt);
  free (b->pidfile);
  free (b->log);
  free (b->crun);
  free (b->cg_keep);
  free (b->crun_cg);
  free_strv (b->new_stack, b->n_new_stack);
}

/* One of each variant. */
static int
round_once (bench_t *b, double *at[R_N], stack_error_t **err)
{
  double ignore;

  if (run_host (b, at[R_HOST], err) < 0
      || run_stack (b, false, at[R_EXEC], at[R_EXIT], at[R_DESTROYED], err) < 0
      || run_stack (b, true, at[R_INIT_EXEC], at[R_INIT_EXIT], &ignore, err) < 0
      || run_crun (b, CRUN_OVERLAY, false, &ignore, at[R_CRUN_RUN], err) < 0
      || run_crun (b, CRUN_DIR, false, &ignore, at[R_CRUN_RUN_DIR], err) < 0
      || run_crun (b, CRUN_NOCGROUP, false, &ignore, at[R_CRUN_RUN_NOCG], err) < 0
      || run_crun (b, CRUN_OVERLAY, true, at[R_CRUN_START], at[R_CRUN_CS_EXIT], err) < 0)
    return -1;
  return 0;
}

int
main (int argc, char **argv)
{
  bench_t b = { .devnull = -1, .logfd = -1 };
  double *ms[R_N] = { NULL };
  stack_error_t *err = NULL;
  sigset_t stop, pending;
  char *end = NULL;
  unsigned long n = 100;
  size_t i, r;
  int status = 0;

  /* our init (`init: true`) is this very binary, sealed */
  if (argc > 0 && strcmp (argv[0], "stack-init") == 0)
    return rt_init_main (argc, argv);
  if (argc > 2 || (argc == 2 && ((n = strtoul (argv[1], &end, 10)) == 0 || *end || n > 100000)))
    {
      fprintf (stderr, "usage: bench_spawn [RUNS (1-100000, default 100)]\n");
      return 2;
    }
  if (geteuid () != 0)
    {
      fprintf (stderr, "bench_spawn: must run as root (namespaces, mounts, cgroups)\n");
      return 1;
    }
  b.crun = find_crun ();
  if (b.crun == NULL)
    {
      fprintf (stderr, "bench_spawn: crun not found in PATH (Debian: apt-get install crun)\n");
      return 1;
    }
  /* Ctrl-C waits for the run in flight, then everything is cleaned up */
  sigemptyset (&stop);
  sigaddset (&stop, SIGINT);
  sigaddset (&stop, SIGTERM);
  sigaddset (&stop, SIGHUP);
  sigprocmask (SIG_BLOCK, &stop, NULL);

  if (setup (&b, &err) < 0)
    goto fail;
  for (r = 0; r < R_N; r++)
    ms[r] = xzalloc (n * sizeof *ms[r]);
  for (i = 0; i < WARMUP + n; i++)
    {
      double slot[R_N], *at[R_N];
      for (r = 0; r < R_N; r++)
        at[r] = i < WARMUP ? &slot[r] : &ms[r][i - WARMUP];
      if (round_once (&b, at, &err) < 0)
        goto fail;
      sigpending (&pending);
      if (sigismember (&pending, SIGINT) || sigismember (&pending, SIGTERM)
          || sigismember (&pending, SIGHUP))
        {
          stack_error_make (&err, 0, "interrupted after %zu rounds; nothing left behind", i + 1);
          goto fail;
        }
    }

  printf ("bench_spawn: %lu runs of each (after %d warm-up runs), interleaved; crun %s\n", n,
          WARMUP, b.crun);
  printf ("cgroups: %s; both runtimes create one per container (crun: --cgroup-manager=cgroupfs)\n",
          rt_cgroup_version ());
  if (b.hid_controllers)
    printf ("note: crun 1.8 refuses this hybrid layout whatever its --cgroup-manager; it ran in "
            "our mount\n      namespace with an empty file bound over %s\n",
            UNIFIED_CONTROLLERS);
  print_table (ms, n);
  goto out;

fail:
  fprintf (stderr, "bench_spawn: %s\n", err ? err->msg : "failed");
  stack_error_free (&err);
  status = 1;
out:
  teardown (&b);
  for (r = 0; r < R_N; r++)
    free (ms[r]);
  return status;
}
