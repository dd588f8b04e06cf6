/* runtime.h — run one container from a plain spec, and keep images.

   The runtime is our small OCI runtime (crun and runc are the models). It
   knows nothing of YAML, projects or other services: compose/ translates a
   service into a container_spec and drives the lifecycle below. It never
   calls compose/ or network/.

   Lifecycle of one container (the caller owns the event loop; no call here
   waits for the container's program):

     rt_container_create   clone into new namespaces; the child prepares its
                           root (overlay, /proc, /dev, mounts, pivot_root) and
                           stops on the sync channel; the parent has put it in
                           its cgroup with its limits. Returns with c->pid set.
     (caller)              wires the network into /proc/<pid>/ns/net
     rt_container_start    lets the child drop privileges and exec
     (caller)              sees the exit through its child watcher (pid/pidfd)
     rt_container_kill     a signal to PID 1, or SIGKILL to the whole cgroup
     rt_container_destroy  removes the cgroup (the mounts die with the
                           container's mount namespace)
*/
#ifndef STACK_RUNTIME_H
#define STACK_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/util.h"

/* ------------------------------------------------------------------ */
/* What to run                                                         */
/* ------------------------------------------------------------------ */

enum rt_mount_type
{
  RT_MOUNT_BIND,   /* a host path */
  RT_MOUNT_VOLUME, /* a named volume: a host directory we own, seeded from the image */
  RT_MOUNT_TMPFS,
};

typedef struct rt_mount
{
  enum rt_mount_type type;
  const char *source; /* host path (bind, volume); unused for tmpfs */
  const char *target; /* absolute path inside the container */
  bool read_only;
  bool create_source; /* bind: mkdir -p a missing source, as Docker does */
  bool seed;          /* volume: when empty, copy the image's content at target into it */
  const char *propagation; /* "rprivate" (default), "private", "rslave", ... */
  uint64_t tmpfs_size;     /* bytes, 0: the kernel's default */
  unsigned tmpfs_mode;     /* 0: 01777 */
  bool tmpfs_exec;         /* tmpfs: allow exec (Docker mounts tmpfs noexec unless asked) */
} rt_mount_t;

typedef struct rt_rlimit
{
  int resource; /* RLIMIT_* */
  uint64_t soft, hard;
} rt_rlimit_t;

/* Resource limits; 0 means "not set" unless said otherwise. */
typedef struct rt_limits
{
  int64_t memory;             /* bytes */
  int64_t memory_swap;        /* memory + swap, bytes; -1 unlimited */
  int64_t memory_reservation; /* bytes (soft limit / memory.low) */
  double cpus;                /* CPUs' worth of time, e.g. 0.5 */
  uint64_t cpu_shares;        /* v1 shares (2..262144); v2 gets the matching weight */
  const char *cpuset_cpus;    /* "0-1", NULL: all */
  const char *cpuset_mems;
  int64_t pids;    /* max processes; -1 unlimited */
  uint16_t io_weight; /* 10..1000 (blkio weight) */
} rt_limits_t;

typedef struct container_spec
{
  const char *id;          /* unique on the host, e.g. "shop-web-1"; names the cgroup leaf */
  const char *cgroup_path; /* below each hierarchy's root, e.g. "stack/shop/shop-web-1" */

  /* root filesystem: overlay of the image's layers and a writable layer,
     assembled at rootfs_dir inside the container's mount namespace only */
  const char *rootfs_dir; /* an empty directory of ours */
  const char *const *layers; /* unpacked layer directories, topmost first */
  size_t n_layers;
  const char *upper_dir; /* writable layer, kept across restarts */
  const char *work_dir;  /* overlay's work dir, same filesystem as upper_dir */
  bool read_only_root;
  const rt_mount_t *mounts;
  size_t n_mounts;
  /* files we provide, bind-mounted over /etc/hosts, /etc/hostname, /etc/resolv.conf */
  const char *hosts_file, *hostname_file, *resolv_file;
  uint64_t shm_size; /* /dev/shm bytes, 0: 64 MiB as Docker */

  /* the process */
  const char *const *argv; /* NULL-terminated, argv[0] looked up in PATH of env */
  const char *const *env;  /* "K=V", NULL-terminated */
  const char *cwd;         /* NULL: "/" */
  const char *user;        /* "uid[:gid]" or "name[:group]", looked up in the
                              container's /etc/passwd and /etc/group; NULL: root */
  const char *const *group_add; /* extra groups, names or numbers; NULL-terminated or NULL */
  const char *hostname, *domainname;
  const rt_rlimit_t *rlimits;
  size_t n_rlimits;
  bool tty;  /* a pseudo-terminal as stdio (its master is returned in c->pty_fd) */
  bool init; /* our own init as PID 1: forwards signals, reaps zombies */

  /* security */
  uint64_t caps; /* capability bitmask (1ULL << CAP_*): bounding, permitted, effective */
  bool privileged;        /* all caps, no seccomp, /sys and /proc writable, host devices */
  bool no_new_privileges;
  bool seccomp_unconfined; /* false: the default filter */
  const char *const *sysctls; /* "key=value", namespaced ones only; NULL-terminated or NULL */

  /* namespaces to join instead of creating ("/proc/PID/ns/net", ...); NULL: new */
  const char *join_net, *join_ipc, *join_pid, *join_uts;
  bool host_net, host_ipc, host_pid; /* stay in the host's */

  rt_limits_t limits;

  /* stdio of the container's PID 1; -1: /dev/null. Ignored with tty. */
  int stdin_fd, stdout_fd, stderr_fd;
} container_spec_t;

/* A created container. */
typedef struct rt_container
{
  pid_t pid;   /* host pid of the container's PID 1 */
  int pidfd;   /* pidfd_open of pid, or -1 */
  int sync_fd; /* our end of the sync channel (closed by start) */
  int pty_fd;  /* tty master, or -1 */
  char *cgroup_path;
} rt_container_t;

/* The default capability set (see docs/security.md for the choice). */
uint64_t rt_default_caps (void);
/* "CAP_NET_ADMIN", "net_admin", "ALL" → bit(s); false if unknown. */
bool rt_cap_parse (const char *name, uint64_t *bits);

int rt_container_create (const container_spec_t *spec, rt_container_t *c, stack_error_t **err);
int rt_container_start (rt_container_t *c, stack_error_t **err);
/* sig to PID 1; SIGKILL goes to every process of the cgroup. */
int rt_container_kill (rt_container_t *c, int sig, stack_error_t **err);
/* After the exit was reaped: kill leftovers, remove the cgroup. Idempotent. */
int rt_container_destroy (rt_container_t *c, stack_error_t **err);
/* `exec`: run spec->argv inside the running container `target` (its
   pid/pidfd and cgroup_path): joins every namespace of target's PID 1 and
   its cgroup, then applies spec's user, group_add, env, cwd, rlimits,
   capabilities, seccomp and no_new_privileges exactly as for the
   container's own program. The root filesystem, mounts, limits and
   namespace fields of spec are not used. With spec->tty the process gets
   a new terminal in the container's devpts, its master in proc->pty_fd;
   otherwise spec's stdio fds. Returns once the program was executed (or
   with the reason it could not be), proc->pid/pidfd set; the caller
   reaps it. */
int rt_container_exec (const rt_container_t *target, const container_spec_t *spec,
                       rt_container_t *proc, stack_error_t **err);
/* Was the container's last exit an OOM kill (its cgroup's oom counter)? */
bool rt_container_oom_killed (const char *cgroup_path);

/* CVE-2019-5736: call before starting or entering containers (first
   thing in `up` and `exec`). Unless already running from it, re-executes
   the program from a sealed memfd copy of itself with the same argv and
   environment, so no process a container can see runs from the host's
   binary. Returns 0 when running sealed; does not return otherwise, but
   for an error. */
int rt_reexec_sealed (char **argv, stack_error_t **err);

/* The container's init (`init: true`) runs from a sealed copy of the
   program's own binary with argv[0] "stack-init": main() must call this
   first thing when argv[0] is "stack-init". Never returns. */
int rt_init_main (int argc, char **argv);

/* ------------------------------------------------------------------ */
/* Cgroups: v1 and v2 behind one table, chosen at run time              */
/* ------------------------------------------------------------------ */

typedef struct rt_cgroup_stats
{
  uint64_t cpu_usage_ns, memory_bytes, memory_limit, pids, oom_kills;
} rt_cgroup_stats_t;

/* Create path (in every hierarchy we use) and write the limits. */
int rt_cgroup_create (const char *path, const rt_limits_t *limits, stack_error_t **err);
int rt_cgroup_add_pid (const char *path, pid_t pid, stack_error_t **err);
/* SIGKILL to every process in the cgroup, until it is empty. */
int rt_cgroup_kill_all (const char *path, stack_error_t **err);
/* Remove path and its parents up to (not including) `stop_at` when empty. */
int rt_cgroup_destroy (const char *path, const char *stop_at, stack_error_t **err);
int rt_cgroup_stats (const char *path, rt_cgroup_stats_t *out, stack_error_t **err);
/* Host pids in the cgroup (malloc'ed). */
int rt_cgroup_pids (const char *path, pid_t **pids, size_t *n, stack_error_t **err);
/* "v1" or "v2": what this host gives us. */
const char *rt_cgroup_version (void);

/* ------------------------------------------------------------------ */
/* Image store (content-addressed, under STACK_ROOT)                    */
/* ------------------------------------------------------------------ */

typedef struct rt_store rt_store_t;

/* The image's HEALTHCHECK (Docker's config.Healthcheck). */
typedef struct rt_image_health
{
  char **test; /* {"CMD", ...}, {"CMD-SHELL", "..."} or {"NONE"}; NULL: inherit (none) */
  int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns; /* 0: not set */
  int retries;                                                        /* 0: not set */
} rt_image_health_t;

/* The image config fields that matter to a container (OCI image config). */
typedef struct rt_image_config
{
  char **entrypoint, **cmd, **env; /* NULL-terminated or NULL */
  char *working_dir, *user, *stop_signal;
  char **volumes;       /* container paths */
  char **exposed_ports; /* "80/tcp" */
  rt_image_health_t *healthcheck; /* NULL: the image has none */
} rt_image_config_t;

typedef struct rt_image
{
  char *name;     /* the store's name: "repo:tag", normalized ("busybox" →
                     "busybox:latest"), or "repo@sha256:..." when pulled by digest */
  char *id;       /* sha256 of the config blob, "sha256:..." */
  char *manifest; /* digest of the image's manifest, "sha256:...", NULL when imported */
  char *digest;   /* the registry's digest for name (a manifest list's, when the
                     image came from one), "sha256:..."; NULL when not pulled */
  char **layers;  /* unpacked layer dirs, bottom first */
  size_t n_layers;
  uint64_t size;  /* bytes of the layers, unpacked */
  int64_t created; /* the image's creation (its config's `created`), epoch seconds */
  int64_t stored;  /* when this name was last pulled, loaded or imported, epoch seconds */
  rt_image_config_t config;
} rt_image_t;

/* Open (creating when needed) the store at root: blobs/sha256/, layers/, images.json. */
int rt_store_open (const char *root, rt_store_t **out, stack_error_t **err);
void rt_store_close (rt_store_t *s);
/* `docker import`: a rootfs tarball (plain, gzip, zstd, xz) as a one-layer image. */
int rt_image_import (rt_store_t *s, const char *tar_path, const char *name, rt_image_t **out,
                     stack_error_t **err);
/* Find by name ("busybox" = "busybox:latest"), id or id prefix; -1 with ENOENT if absent. */
int rt_image_get (rt_store_t *s, const char *ref, rt_image_t **out, stack_error_t **err);
int rt_image_list (rt_store_t *s, rt_image_t ***out, size_t *n, stack_error_t **err);
/* Remove a name; its layers go when no image uses them. `in_use` says no. */
int rt_image_remove (rt_store_t *s, const char *ref, stack_error_t **err);
void rt_image_free (rt_image_t *img);

/* `image prune`: remove the layers and blobs no image names (what an
   interrupted pull or load left) and crash leftovers; with all, first every
   image no container holds. Waits for pulls and loads under way. *removed
   (NULL-terminated, malloc'ed, may be NULL) gets the names removed, *freed
   the bytes given back. */
int rt_image_prune (rt_store_t *s, bool all, char ***removed, uint64_t *freed,
                    stack_error_t **err);

/* `image load`: a `docker save` tarball, an OCI image archive (a tar of an
   OCI layout) or an OCI layout directory. Every image in it is stored under
   its name (docker save's RepoTags; OCI's `org.opencontainers.image.ref.name`,
   or `io.containerd.image.name`); each blob's digest and each layer's diff_id
   are checked before anything is named. *out gets the images loaded
   (malloc'ed array of *n). Nothing is left but whole layers on error. */
int rt_image_load (rt_store_t *s, const char *path, rt_image_t ***out, size_t *n,
                   stack_error_t **err);

/* ---- pulling from a registry (the Docker registry HTTP API v2) ---- */

enum rt_pull_phase
{
  RT_PULL_RESOLVING,   /* asking the registry what the reference means */
  RT_PULL_WAITING,     /* a layer to fetch, queued ("Pulling fs layer") */
  RT_PULL_EXISTS,      /* a layer already in the store: not fetched */
  RT_PULL_DOWNLOADING, /* done of total bytes */
  RT_PULL_RETRYING,    /* a transient failure; message says what, done restarts at 0 */
  RT_PULL_VERIFYING,   /* downloaded; size and digest checked */
  RT_PULL_EXTRACTING,  /* unpacking, done of total compressed bytes read */
  RT_PULL_COMPLETE,    /* the layer is unpacked, its diff_id checked */
  RT_PULL_DONE,        /* the image is stored; digest is its registry digest */
};

typedef struct rt_pull_progress
{
  enum rt_pull_phase phase;
  const char *ref;     /* the image as the caller named it */
  size_t layer;        /* this layer's index, bottom first */
  size_t n_layers;     /* 0 until the manifest is known */
  const char *digest;  /* the layer's blob digest; DONE: the image's digest */
  uint64_t done, total; /* bytes */
  const char *message;  /* RETRYING: why */
} rt_pull_progress_t;

typedef void (*rt_pull_progress_fn) (const rt_pull_progress_t *p, void *data);

typedef struct rt_pull_opts
{
  const char *auth_file; /* a Docker config.json (`auths`); NULL: no credentials */
  const char *insecure;  /* "host[:port],...": registries spoken to in plain HTTP,
                            besides localhost and 127.0.0.0/8 (always) */
  const char *certs_dir; /* Docker's /etc/docker/certs.d: DIR/<host[:port]>/ holds
                            NAME.crt CAs trusted for that registry besides the
                            system's, and a NAME.cert + NAME.key client pair;
                            NULL: none */
  unsigned parallel;     /* layers fetched at once; 0: 3, Docker's default */
  /* called one at a time (under a lock) from the pulling threads */
  rt_pull_progress_fn progress;
  void *progress_data;
} rt_pull_opts_t;

/* `docker pull`: fetch ref's manifest (a list or index resolved to
   linux/<this machine's architecture>), its config and the layers the store
   lacks, in parallel; verify each blob's size and digest and each layer's
   diff_id before it is used; retry transient failures; name the image.
   Anonymous access, bearer tokens (the WWW-Authenticate challenge) and basic
   credentials from opts->auth_file. *out may be NULL. */
int rt_image_pull (rt_store_t *s, const char *ref, const rt_pull_opts_t *opts, rt_image_t **out,
                   stack_error_t **err);

/* A container keeps its image from `image rm` while it exists: `holder`
   (a container's name: no `/`) holds image id until released. */
int rt_image_hold (rt_store_t *s, const char *id, const char *holder, stack_error_t **err);
/* Idempotent: releasing what is not held is fine. */
int rt_image_release (rt_store_t *s, const char *holder, stack_error_t **err);

/* Remove path and everything below it, following no symlink; a missing
   path is fine. For a container's writable layer and volumes. */
int rt_remove_tree (const char *path, stack_error_t **err);

/* Unpack a layer tarball into dir (which must not exist): never writes
   outside dir, whatever the archive holds (.., absolute names, symlinks
   and hardlinks that leave it); whiteouts become overlay whiteouts. */
int rt_layer_extract (int tar_fd, const char *dir, stack_error_t **err);

#endif
