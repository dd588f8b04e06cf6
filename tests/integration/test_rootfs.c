/* test_rootfs.c — the container's root filesystem: /dev, masked and
   read-only paths, the writable layer, the spec's mounts, the /etc files,
   and symlinks in the image that try to send a mount out of the rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it-helpers.h"

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* A failed assertion leaves the test by longjmp: the teardown then removes
   what the test had made (its scratch dir and cgroup, a live container). */
static it_t *tracked_it;
#define it_init(t, argv) (tracked_it = (t), it_init ((t), (argv)))

static int
teardown (void **state)
{
  (void) state;
  if (tracked_it && tracked_it->dir)
    it_free (tracked_it);
  tracked_it = NULL;
  unsetenv ("STACK_CGROUP");
  unsetenv ("STACK_CGROUP_V2_ROOT");
  return 0;
}

static void
run_expect (it_t *t, const char *expected, int code)
{
  char *out = NULL;
  int status = it_run (t, &out);

  assert_string_equal (out, expected);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), code);
  free (out);
}

/* A host file below the test's scratch dir. */
static char *
host_file (it_t *t, const char *name, const char *content)
{
  char *path = xasprintf ("%s/%s", t->dir, name);
  FILE *f = fopen (path, "w");

  assert_non_null (f);
  fputs (content, f);
  fclose (f);
  return path;
}

static char *
host_dir (it_t *t, const char *name)
{
  char *path = xasprintf ("%s/%s", t->dir, name);

  assert_int_equal (mkdir (path, 0755), 0);
  return path;
}

static char *
slurp (const char *path)
{
  stack_error_t *err = NULL;
  char *s = NULL;

  if (read_file (path, &s, NULL, &err) < 0)
    {
      stack_error_free (&err);
      return NULL;
    }
  return s;
}

/* ---- /dev ---- */

static void
test_dev_entries (void **state)
{
  static it_t t;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c",
                     "ls /dev; echo ---; for l in fd ptmx stderr; do readlink /dev/$l; done; stat -c %A /dev/null; "
                     "echo hi > /dev/null && head -c 3 /dev/zero | od -An -c; "
                     "grep -E ' /dev(/pts|/shm|/mqueue)? ' /proc/mounts"));
  t.spec.shm_size = 1 << 20;
  run_expect (&t,
              "fd\nfull\nmqueue\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\n"
              "urandom\nzero\n---\n"
              "/proc/self/fd\npts/ptmx\n/proc/self/fd/2\n"
              "crw-rw-rw-\n"
              "  \\0  \\0  \\0\n"
              "tmpfs /dev tmpfs rw,nosuid,size=65536k,mode=755 0 0\n"
              "devpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666 0 0\n"
              "shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k 0 0\n"
              "mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec,relatime 0 0\n",
              0);
  it_free (&t);
}

/* ---- masked and read-only paths ---- */

/* What the container sees; privileged is the control: the same command
   shows the host's content there, so each check can fail. */
static void
masked_check (const char *expected)
{
  static it_t t;

  it_init (&t, ARGV ("/bin/sh", "-c",
                     "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; "
                     "echo x > /proc/sys/kernel/hostname && hostname"));
  run_expect (&t, expected, 1);
  it_free (&t);
}

static void
test_masked_paths (void **state)
{
  char *timer = slurp ("/proc/timer_list");
  (void) state;

  it_require_root ();
  if (timer == NULL || timer[0] == '\0' || access ("/sys/firmware/acpi", F_OK) < 0)
    skip (); /* the host must have something to hide */
  free (timer);
  masked_check ("0\n0\n/bin/sh: can't create /proc/sys/kernel/hostname: Read-only file system\n");
}

static void
test_masked_paths_control (void **state)
{
  char *timer = slurp ("/proc/timer_list");
  (void) state;

  it_require_root ();
  if (timer == NULL || timer[0] == '\0' || access ("/sys/firmware/acpi", F_OK) < 0)
    skip ();
  free (timer);
  /* privileged: /proc/timer_list has content, /sys/firmware entries, and
     /proc/sys is writable (the hostname is our own namespace's) */
  {
    static it_t t;
    char *out = NULL;
    int status, bytes = 0, entries = 0;
    char host[64];

    it_init (&t, ARGV ("/bin/sh", "-c",
                       "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; "
                       "echo x > /proc/sys/kernel/hostname && hostname"));
    t.spec.privileged = true;
    status = it_run (&t, &out);
    assert_true (WIFEXITED (status));
    assert_int_equal (sscanf (out, "%d\n%d\n%63s", &bytes, &entries, host), 3);
    assert_true (bytes > 0);
    assert_true (entries > 0);
    assert_string_equal (host, "x");
    free (out);
    it_free (&t);
  }
}

/* ---- the writable layer, read-only root ---- */

static void
test_read_only_root (void **state)
{
  static it_t t;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", "touch /x; echo $?; touch /dev/shm/ok /tmp/ok 2>&1 | head -1"));
  t.spec.read_only_root = true;
  run_expect (&t, "touch: /x: Read-only file system\n1\ntouch: /tmp/ok: Read-only file system\n", 0);
  it_free (&t);
}

static void
test_writable_layer_kept (void **state)
{
  static it_t t;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", "cat /keep 2>&1; echo kept > /keep"));
  run_expect (&t, "cat: can't open '/keep': No such file or directory\n", 0);
  /* the same upper dir, a second container */
  run_expect (&t, "kept\n", 0);
  it_free (&t);
}

/* More layers than one page of mount options holds: the layers go one by
   one through fsconfig ("lowerdir+"). */
static void
test_many_layers (void **state)
{
  static it_t t;
  const char *layers[61];
  char *names[60];
  size_t i;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", "cat /from-top /from-59"));
  for (i = 0; i < 60; i++)
    {
      names[i] = xasprintf ("%s/a-rather-long-layer-directory-name-as-a-store-would-have-%064zu",
                            t.dir, i);
      assert_int_equal (mkdir (names[i], 0755), 0);
      layers[i] = names[i];
    }
  free (host_file (&t, "a-rather-long-layer-directory-name-as-a-store-would-have-"
                       "0000000000000000000000000000000000000000000000000000000000000000/from-top",
                   "top\n"));
  free (host_file (&t, "a-rather-long-layer-directory-name-as-a-store-would-have-"
                       "0000000000000000000000000000000000000000000000000000000000000059/from-59",
                   "59\n"));
  layers[60] = t.layer;
  t.spec.layers = layers;
  t.spec.n_layers = 61;
  run_expect (&t, "top\n59\n", 0);
  for (i = 0; i < 60; i++)
    free (names[i]);
  it_free (&t);
}

/* ---- the spec's mounts ---- */

static void
test_bind_mounts (void **state)
{
  static it_t t;
  rt_mount_t m[2];
  char *ro, *rw, *f, *made, *content;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c",
                     "cat /mnt/ro/f; touch /mnt/ro/x; echo w > /mnt/rw/new; "
                     "grep -E ' /mnt/r[ow] ' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1"));
  ro = host_dir (&t, "ro");
  rw = host_dir (&t, "rw");
  f = xasprintf ("%s/f", ro);
  assert_int_equal (access (f, F_OK), -1);
  free (f);
  f = host_file (&t, "ro/f", "from the host\n");
  m[0] = (rt_mount_t){ .type = RT_MOUNT_BIND, .source = ro, .target = "/mnt/ro", .read_only = true };
  m[1] = (rt_mount_t){ .type = RT_MOUNT_BIND, .source = rw, .target = "/mnt/rw" };
  t.spec.mounts = m;
  t.spec.n_mounts = 2;
  run_expect (&t,
              "from the host\ntouch: /mnt/ro/x: Read-only file system\n/mnt/ro ro\n/mnt/rw rw\n", 0);
  made = xasprintf ("%s/new", rw);
  content = slurp (made);
  assert_non_null (content);
  assert_string_equal (content, "w\n");
  free (content);
  free (made);
  free (f);
  free (ro);
  free (rw);
  it_free (&t);
}

static void
test_bind_missing_source (void **state)
{
  static it_t t;
  rt_mount_t m;
  char *out = NULL, *expected, *src;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("true"));
  src = xasprintf ("%s/absent", t.dir);
  m = (rt_mount_t){ .type = RT_MOUNT_BIND, .source = src, .target = "/mnt" };
  t.spec.mounts = &m;
  t.spec.n_mounts = 1;
  assert_int_equal (it_run (&t, &out), -1);
  expected = xasprintf ("create failed: create container `c`: bind source `%s`: No such file or directory",
                        src);
  assert_string_equal (out, expected);
  free (out);
  free (expected);
  /* create_source: made, as Docker does */
  m.create_source = true;
  run_expect (&t, "", 0);
  assert_int_equal (access (src, F_OK), 0);
  free (src);
  it_free (&t);
}

static void
test_volume_seeded_from_image (void **state)
{
  static it_t t;
  rt_mount_t m;
  char *vol, *p, *s;
  struct stat st;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", "cat /data/conf/seed.txt; echo more >> /data/added"));
  it_write (&t, "/data/conf/seed.txt", "seed\n", 0640);
  p = xasprintf ("%s/data/conf/seed.txt", t.layer);
  assert_int_equal (chown (p, 1000, 1000), 0);
  free (p);
  p = xasprintf ("%s/data", t.layer);
  assert_int_equal (chown (p, 1000, 10), 0);
  assert_int_equal (chmod (p, 0750), 0);
  free (p);
  vol = xasprintf ("%s/volumes/v1", t.dir); /* missing: created */
  m = (rt_mount_t){ .type = RT_MOUNT_VOLUME, .source = vol, .target = "/data", .seed = true };
  t.spec.mounts = &m;
  t.spec.n_mounts = 1;
  run_expect (&t, "seed\n", 0);

  /* the volume holds the image's content, owners and modes kept */
  assert_int_equal (stat (vol, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0750);
  assert_int_equal (st.st_uid, 1000);
  assert_int_equal (st.st_gid, 10);
  p = xasprintf ("%s/conf/seed.txt", vol);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0640);
  assert_int_equal (st.st_uid, 1000);
  assert_int_equal (st.st_gid, 1000);
  free (p);

  /* not empty any more: never seeded again, the container's write kept */
  p = xasprintf ("%s/conf/seed.txt", vol);
  assert_int_equal (unlink (p), 0);
  free (p);
  t.spec.argv = ARGV ("/bin/sh", "-c", "ls /data/conf; cat /data/added");
  run_expect (&t, "more\n", 0);
  p = xasprintf ("%s/added", vol);
  s = slurp (p);
  assert_string_equal (s, "more\n");
  free (s);
  free (p);
  free (vol);
  it_free (&t);
}

static void
test_tmpfs_with_size (void **state)
{
  static it_t t;
  rt_mount_t m[2];
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", "grep ' /run/' /proc/mounts; stat -c %a /run/t /run/u"));
  m[0] = (rt_mount_t){ .type = RT_MOUNT_TMPFS, .target = "/run/t", .tmpfs_size = 1 << 20 };
  m[1] = (rt_mount_t){ .type = RT_MOUNT_TMPFS, .target = "/run/u", .tmpfs_mode = 0700,
                       .read_only = true };
  t.spec.mounts = m;
  t.spec.n_mounts = 2;
  run_expect (&t,
              "tmpfs /run/t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k 0 0\n"
              "tmpfs /run/u tmpfs ro,nosuid,nodev,noexec,relatime,mode=700 0 0\n"
              "1777\n700\n",
              0);
  it_free (&t);
}

/* Docker mounts a tmpfs noexec unless asked: a script copied there does
   not run (busybox sh says why), and does with tmpfs_exec. */
static void
test_tmpfs_noexec_unless_asked (void **state)
{
  static it_t t;
  rt_mount_t m = { .type = RT_MOUNT_TMPFS, .target = "/scratch" };
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c",
                     "cp /bin/hello /scratch/hello && /scratch/hello; "
                     "grep -c ' /scratch tmpfs rw,nosuid,nodev,noexec,' /proc/mounts"));
  it_write (&t, "/bin/hello", "#!/bin/sh\necho hello\n", 0755);
  t.spec.mounts = &m;
  t.spec.n_mounts = 1;
  run_expect (&t, "/bin/sh: /scratch/hello: Permission denied\n1\n", 0);
  m.tmpfs_exec = true;
  run_expect (&t, "hello\n0\n", 1);
  it_free (&t);
}

/* ---- /sys/fs/cgroup ---- */

static bool
host_is_v2 (void)
{
  return strcmp (rt_cgroup_version (), "v2") == 0;
}

/* The container sees its own cgroup as the root of /sys/fs/cgroup, with
   its own limits, read-only. */
static void
test_cgroup_fs_read_only (void **state)
{
  static it_t t;
  (void) state;

  it_require_root ();
  if (host_is_v2 ())
    {
      it_init (&t, ARGV ("/bin/sh", "-c",
                         "cat /sys/fs/cgroup/pids.max; echo 1 > /sys/fs/cgroup/pids.max; "
                         "grep -c '^cgroup2 /sys/fs/cgroup cgroup2 ro,' /proc/mounts"));
      t.spec.limits.pids = 42;
      run_expect (&t, "42\n/bin/sh: can't create /sys/fs/cgroup/pids.max: Read-only file system\n1\n",
                  0);
      it_free (&t);
      return;
    }
  it_init (&t, ARGV ("/bin/sh", "-c",
                     "cat /sys/fs/cgroup/pids/pids.max; echo 1 > /sys/fs/cgroup/pids/pids.max; "
                     "mkdir /sys/fs/cgroup/x; grep -c ' /sys/fs/cgroup/pids cgroup ro,' /proc/mounts; "
                     "ls /sys/fs/cgroup/memory/memory.limit_in_bytes"));
  t.spec.limits.pids = 42;
  run_expect (&t,
              "42\n"
              "/bin/sh: can't create /sys/fs/cgroup/pids/pids.max: Read-only file system\n"
              "mkdir: can't create directory '/sys/fs/cgroup/x': Read-only file system\n"
              "1\n/sys/fs/cgroup/memory/memory.limit_in_bytes\n",
              0);
  it_free (&t);
}

/* Privileged: the same view, writable (the control that shows the
   read-only check above can fail). */
static void
test_cgroup_fs_privileged_writable (void **state)
{
  static it_t t;
  const char *file = host_is_v2 () ? "/sys/fs/cgroup/pids.max" : "/sys/fs/cgroup/pids/pids.max";
  char *script = xasprintf ("echo 50 > %s && cat %s", file, file);
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", script));
  t.spec.limits.pids = 42;
  t.spec.privileged = true;
  run_expect (&t, "50\n", 0);
  it_free (&t);
  free (script);
}

/* v2 on this hybrid host: the empty cgroup2 at /sys/fs/cgroup/unified
   (STACK_CGROUP=v2) is mounted as the container's /sys/fs/cgroup, rooted
   at its own cgroup: only its own process is listed. */
static void
test_cgroup_fs_v2_unified (void **state)
{
  static it_t t;
  struct statfs sfs;
  (void) state;

  it_require_root ();
  if (host_is_v2 () || statfs ("/sys/fs/cgroup/unified", &sfs) < 0
      || sfs.f_type != CGROUP2_SUPER_MAGIC)
    skip ();
  setenv ("STACK_CGROUP", "v2", 1);
  setenv ("STACK_CGROUP_V2_ROOT", "/sys/fs/cgroup/unified", 1);
  it_init (&t, ARGV ("/bin/sh", "-c",
                     "grep -c '^cgroup2 /sys/fs/cgroup cgroup2 ro,' /proc/mounts; "
                     "grep '^0::' /proc/self/cgroup; exec cat /sys/fs/cgroup/cgroup.procs"));
  run_expect (&t, "1\n0::/\n1\n", 0);
  it_free (&t);
  unsetenv ("STACK_CGROUP");
  unsetenv ("STACK_CGROUP_V2_ROOT");
}

static void
test_etc_files (void **state)
{
  static it_t t;
  char *hosts, *hostname, *resolv;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c",
                     "cat /etc/hosts /etc/hostname /etc/resolv.conf; "
                     "grep -c ' /etc/' /proc/mounts"));
  hosts = host_file (&t, "hosts", "127.0.0.1 localhost\n10.0.0.2 web\n");
  hostname = host_file (&t, "hostname", "web\n");
  resolv = host_file (&t, "resolv", "nameserver 10.0.0.1\n");
  t.spec.hosts_file = hosts;
  t.spec.hostname_file = hostname;
  t.spec.resolv_file = resolv;
  /* none of them is in the image: created to mount on */
  run_expect (&t, "127.0.0.1 localhost\n10.0.0.2 web\nweb\nnameserver 10.0.0.1\n3\n", 0);
  free (hosts);
  free (hostname);
  free (resolv);
  it_free (&t);
}

/* ---- symlinks in the image (CVE-2021-30465 class) ---- */

static void
symlink_in_layer (it_t *t, const char *link, const char *target)
{
  char *p = xasprintf ("%s%s", t->layer, link);
  assert_int_equal (symlink (target, p), 0);
  free (p);
}

static void
test_symlink_cannot_send_mount_outside (void **state)
{
  static it_t t;
  rt_mount_t m[3];
  char *outside, *src, *f, *script, *in_upper, *marker;
  struct stat st;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("true"));
  /* a host directory, and the image's /etc/x pointing at its host path */
  outside = host_dir (&t, "host-target");
  src = host_dir (&t, "src");
  f = host_file (&t, "src/marker", "inside\n");
  symlink_in_layer (&t, "/etc/x", outside);
  symlink_in_layer (&t, "/etc/up", "../../../../../../../../tmp/rel-target");
  symlink_in_layer (&t, "/etc/hostfile", "/etc/passwd-of-host");
  m[0] = (rt_mount_t){ .type = RT_MOUNT_BIND, .source = src, .target = "/etc/x" };
  m[1] = (rt_mount_t){ .type = RT_MOUNT_BIND, .source = src, .target = "/etc/up/sub" };
  m[2] = (rt_mount_t){ .type = RT_MOUNT_BIND, .source = f, .target = "/etc/hostfile" };
  t.spec.mounts = m;
  t.spec.n_mounts = 3;
  script = xasprintf ("cat %s/marker /tmp/rel-target/sub/marker /etc/passwd-of-host", outside);
  t.spec.argv = ARGV ("/bin/sh", "-c", script);
  /* every mount landed where the symlink leads inside the rootfs */
  run_expect (&t, "inside\ninside\ninside\n", 0);

  /* the host's directory saw nothing; the rootfs got the directories */
  marker = xasprintf ("%s/marker", outside);
  assert_int_equal (access (marker, F_OK), -1);
  assert_int_equal (errno, ENOENT);
  in_upper = xasprintf ("%s%s", t.upper, outside);
  assert_int_equal (stat (in_upper, &st), 0);
  assert_true (S_ISDIR (st.st_mode));
  free (in_upper);
  in_upper = xasprintf ("%s/tmp/rel-target/sub", t.upper);
  assert_int_equal (stat (in_upper, &st), 0);
  free (in_upper);
  assert_int_equal (access ("/tmp/rel-target", F_OK), -1);
  assert_int_equal (access ("/etc/passwd-of-host", F_OK), -1);
  free (marker);
  free (script);
  free (outside);
  free (src);
  free (f);
  it_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_dev_entries, teardown),
    cmocka_unit_test_teardown (test_masked_paths, teardown),
    cmocka_unit_test_teardown (test_masked_paths_control, teardown),
    cmocka_unit_test_teardown (test_read_only_root, teardown),
    cmocka_unit_test_teardown (test_writable_layer_kept, teardown),
    cmocka_unit_test_teardown (test_many_layers, teardown),
    cmocka_unit_test_teardown (test_bind_mounts, teardown),
    cmocka_unit_test_teardown (test_bind_missing_source, teardown),
    cmocka_unit_test_teardown (test_volume_seeded_from_image, teardown),
    cmocka_unit_test_teardown (test_tmpfs_with_size, teardown),
    cmocka_unit_test_teardown (test_tmpfs_noexec_unless_asked, teardown),
    cmocka_unit_test_teardown (test_cgroup_fs_read_only, teardown),
    cmocka_unit_test_teardown (test_cgroup_fs_privileged_writable, teardown),
    cmocka_unit_test_teardown (test_cgroup_fs_v2_unified, teardown),
    cmocka_unit_test_teardown (test_etc_files, teardown),
    cmocka_unit_test_teardown (test_symlink_cannot_send_mount_outside, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
