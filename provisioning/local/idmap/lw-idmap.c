// lw-idmap: mounts an idmapped bind of a directory, so an unprivileged host's root (uid BASE on the
// server) sees the image's root-owned files as its own. Node cannot make these syscalls; mount(8) cannot either
// (util-linux 2.38's X-mount.idmap returns 0 and maps nothing). Built by provisioning/local/idmap.ts.
//
// Usage: lw-idmap <source dir> <target dir> <base> <count>
//   maps ids 0..count-1 of <source> to base..base+count-1 at <target>, read-only. Exit 0 when mounted;
//   otherwise 1 with one line on stderr naming the failing step. Leaves no process behind: the mount holds
//   the user namespace, not a process; `umount <target>` removes both.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define LW_OPEN_TREE_CLONE 1
#define LW_OPEN_TREE_CLOEXEC O_CLOEXEC
#define LW_AT_RECURSIVE 0x8000
#define LW_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define LW_MOUNT_ATTR_RDONLY 0x00000001
#define LW_MOUNT_ATTR_IDMAP 0x00100000

struct lw_mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

static int fail(const char *step) {
  fprintf(stderr, "lw-idmap: %s: %s\n", step, strerror(errno));
  return 1;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* A child enters a new user namespace and waits; we write its maps and keep a descriptor of the namespace. */
static int userns_fd(unsigned long base, unsigned long count) {
  int ready[2], go[2];
  if (pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC)) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    char c = 0;
    close(ready[0]);
    close(go[1]);
    if (unshare(CLONE_NEWUSER)) _exit(1);
    if (write(ready[1], "x", 1) != 1) _exit(1);
    /* Returns when the parent closes its end: it has the namespace by then (or gave up). */
    (void)!read(go[0], &c, 1);
    _exit(0);
  }
  close(ready[1]);
  close(go[0]);
  char c = 0, path[64], map[64];
  int fd = -1, saved = 0;
  if (read(ready[0], &c, 1) != 1) {
    saved = ECHILD;
    goto out;
  }
  snprintf(map, sizeof map, "0 %lu %lu\n", base, count);
  snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
  if (write_file(path, map)) goto err;
  snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
  if (write_file(path, map)) goto err;
  snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) goto err;
  goto out;
err:
  saved = errno;
out:
  close(go[1]);
  close(ready[0]);
  waitpid(pid, NULL, 0);
  if (fd < 0) errno = saved ? saved : EIO;
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: lw-idmap <source dir> <target dir> <base> <count>\n");
    return 2;
  }
  char *end;
  unsigned long base = strtoul(argv[3], &end, 10);
  if (*end || !argv[3][0]) return fail("base is not a number");
  unsigned long count = strtoul(argv[4], &end, 10);
  if (*end || count == 0) return fail("count is not a positive number");

  int ns = userns_fd(base, count);
  if (ns < 0) return fail("creating the user namespace");
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, argv[1], LW_OPEN_TREE_CLONE | LW_OPEN_TREE_CLOEXEC | LW_AT_RECURSIVE);
  if (tree < 0) return fail("open_tree");
  struct lw_mount_attr attr = {.attr_set = LW_MOUNT_ATTR_IDMAP | LW_MOUNT_ATTR_RDONLY, .userns_fd = (uint64_t)ns};
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | LW_AT_RECURSIVE, &attr, sizeof attr)) return fail("mount_setattr (idmapped mounts on this filesystem?)");
  if (syscall(SYS_move_mount, tree, "", AT_FDCWD, argv[2], LW_MOVE_MOUNT_F_EMPTY_PATH)) return fail("move_mount");
  return 0;
}
