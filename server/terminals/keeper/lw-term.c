/* lw-term: keeps a lab host's shell alive between SSH channels without parsing its output (tmux did,
 * and that capped terminal throughput). One keeper per session: a login shell on a pty, a unix socket
 * any number of clients attach to, and a ring of the last RING bytes of raw output that a client
 * attaching is replayed (the history across page reloads and server restarts).
 *   lw-term attach SOCK [-r|-n] [-R BYTES]  attach stdin/stdout, replaying BYTES of history; starts the
 *                                         keeper unless -r (read-only) or -n (types, never sets the size)
 *   lw-term new SOCK COLS ROWS            start the keeper if it is not running
 *   lw-term send SOCK                     stdin typed into the shell
 *   lw-term info SOCK                     prints "<shell pid> <foreground process group> <output bytes so far>"
 *   lw-term has SOCK                      exit 0 when the keeper runs
 * The pty is always drained: a client that falls LAG behind (a browser slower than a flood) skips
 * ahead to the last KEEP bytes, at a line start, told so by a one-line note, as tmux sent a slow
 * client the screen rather than every byte; no client ever holds the shell back. An interrupt key
 * (VINTR/VQUIT/VSUSP while ISIG is on) drops every client's backlog, as a tty flushes its output
 * queue, so the prompt comes back at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define RING (1u << 20)
#define CHUNK 65536
#define MAXCLI 64
#define PENDING 65536
#define LAG (RING / 2)
#define KEEP (64 * 1024)

enum { F_RW = 'w', F_RO = 'r', F_SEND = 's', F_INFO = 'i' };

struct cli {
  int fd;
  char mode;
  uint64_t pos;
  unsigned char in[4 + 65535];
  size_t inlen;
  int hello;
  char note[96]; /* sent before its next output: what it skipped */
  size_t notelen;
};

static unsigned char ring[RING];
static uint64_t total;
static struct cli clis[MAXCLI];
static int nclis;
static int master = -1;
static pid_t shell;
static unsigned char pend[PENDING];
static size_t npend;

static void die(const char *what) {
  fprintf(stderr, "lw-term: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int writeall(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static void sockaddr_of(const char *path, struct sockaddr_un *a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof a->sun_path) {
    fprintf(stderr, "lw-term: socket path too long\n");
    exit(1);
  }
  strcpy(a->sun_path, path);
}

static int dial(const char *path) {
  struct sockaddr_un a;
  sockaddr_of(path, &a);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
  close(fd);
  return -1;
}

static void drop(int i) {
  close(clis[i].fd);
  clis[i] = clis[--nclis];
}

/* Oldest position a client may still read from; older output has been overwritten. */
static uint64_t oldest(void) { return total > RING - CHUNK ? total - (RING - CHUNK) : 0; }

static void skip_all(void) {
  for (int i = 0; i < nclis; i++) clis[i].pos = total;
}

static void type_input(const unsigned char *p, size_t n) {
  struct termios t;
  if (tcgetattr(master, &t) == 0 && (t.c_lflag & ISIG)) {
    for (size_t k = 0; k < n; k++)
      if (p[k] != _POSIX_VDISABLE && (p[k] == t.c_cc[VINTR] || p[k] == t.c_cc[VQUIT] || p[k] == t.c_cc[VSUSP])) {
        skip_all();
        break;
      }
  }
  if (npend == 0) {
    ssize_t w = write(master, p, n);
    if (w < 0) w = 0;
    p += w;
    n -= (size_t)w;
  }
  if (n > PENDING - npend) n = PENDING - npend; /* a paste far larger than the shell reads is cut */
  memcpy(pend + npend, p, n);
  npend += n;
}

/* Handles the complete frames a client sent: 'd' len16 data (input), 'z' rows16 cols16 (size). */
static int frames(struct cli *c) {
  size_t off = 0;
  while (c->inlen - off >= 3) {
    unsigned char *f = c->in + off;
    size_t len = (size_t)f[1] << 8 | f[2];
    if (f[0] == 'd') {
      if (c->inlen - off < 3 + len) break;
      if (c->mode == F_RW || c->mode == F_SEND) type_input(f + 3, len);
      off += 3 + len;
    } else if (f[0] == 'z') {
      if (c->inlen - off < 5) break;
      struct winsize ws = {.ws_row = (unsigned short)len, .ws_col = (unsigned short)(f[3] << 8 | f[4])};
      if (c->mode == F_RW && ws.ws_row > 0 && ws.ws_col > 0) ioctl(master, TIOCSWINSZ, &ws);
      off += 5;
    } else {
      return -1;
    }
  }
  memmove(c->in, c->in + off, c->inlen - off);
  c->inlen -= off;
  return 0;
}

/* The client fell LAG behind: it goes on from the first line start in the last KEEP bytes. */
static void skip_ahead(struct cli *c) {
  uint64_t to = total - KEEP;
  while (to < total && ring[to % RING] != '\n') to++;
  if (to < total) to++;
  int n = snprintf(c->note, sizeof c->note, "\r\n\033[0m[lw-term: %llu KiB of output skipped]\r\n", (unsigned long long)((to - c->pos) / 1024));
  c->notelen = n > 0 ? (size_t)n : 0;
  c->pos = to;
}

/* The first frame: 'h' mode replay32. Read-write and read-only clients get the last `replay`
 * bytes of output, from the first line start in them; an info client gets its answer. */
static int hello(struct cli *c) {
  if (c->inlen < 6) return 0;
  if (c->in[0] != 'h') return -1;
  c->mode = (char)c->in[1];
  uint32_t replay = (uint32_t)c->in[2] << 24 | (uint32_t)c->in[3] << 16 | (uint32_t)c->in[4] << 8 | c->in[5];
  memmove(c->in, c->in + 6, c->inlen - 6);
  c->inlen -= 6;
  c->hello = 1;
  c->pos = total;
  if (c->mode == F_INFO) {
    char line[96];
    int n = snprintf(line, sizeof line, "%d %d %llu\n", (int)shell, (int)tcgetpgrp(master), (unsigned long long)total);
    (void)!write(c->fd, line, (size_t)n);
    return -1;
  }
  if (c->mode != F_RW && c->mode != F_RO && c->mode != F_SEND) return -1;
  if (c->mode == F_SEND || replay == 0) return 0;
  uint64_t from = total > replay ? total - replay : 0;
  if (from < oldest()) from = oldest();
  if (from > 0) {
    while (from < total && ring[from % RING] != '\n') from++;
    if (from < total) from++;
  }
  c->pos = from;
  return 0;
}

static void serve(int lfd) {
  signal(SIGPIPE, SIG_IGN);
  fcntl(master, F_SETFL, O_NONBLOCK);
  fcntl(lfd, F_SETFL, O_NONBLOCK);
  for (;;) {
    struct pollfd p[2 + MAXCLI];
    for (int i = 0; i < nclis; i++) {
      struct cli *c = &clis[i];
      if (c->hello && (c->mode == F_RW || c->mode == F_RO) && total - c->pos > LAG) skip_ahead(c);
    }
    p[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
    p[1] = (struct pollfd){.fd = master, .events = (short)(POLLIN | (npend ? POLLOUT : 0))};
    for (int i = 0; i < nclis; i++) {
      struct cli *c = &clis[i];
      short ev = POLLIN;
      if (c->hello && (c->mode == F_RW || c->mode == F_RO) && (c->pos < total || c->notelen)) ev |= POLLOUT;
      p[2 + i] = (struct pollfd){.fd = c->fd, .events = ev};
    }
    int n = nclis;
    if (poll(p, (nfds_t)(2 + n), -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      size_t at = total % RING, room = RING - at;
      ssize_t r = read(master, ring + at, room < CHUNK ? room : CHUNK);
      if (r > 0) total += (uint64_t)r;
      else if (r == 0 || (errno != EAGAIN && errno != EINTR)) break; /* the shell is gone */
    }
    if (npend && (p[1].revents & POLLOUT)) {
      ssize_t w = write(master, pend, npend);
      if (w > 0) {
        memmove(pend, pend + w, npend - (size_t)w);
        npend -= (size_t)w;
      }
    }
    for (int i = n - 1; i >= 0; i--) {
      struct cli *c = &clis[i];
      short re = p[2 + i].revents;
      int bad = 0;
      if (re & POLLIN) {
        ssize_t r = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
        if (r <= 0) bad = !(r < 0 && (errno == EAGAIN || errno == EINTR));
        else {
          c->inlen += (size_t)r;
          if (!c->hello && hello(c) < 0) bad = 1;
          if (!bad && c->hello && frames(c) < 0) bad = 1;
        }
      } else if (re & (POLLHUP | POLLERR)) bad = 1;
      if (!bad && (re & POLLOUT) && c->notelen) {
        ssize_t w = write(c->fd, c->note, c->notelen);
        if (w > 0) {
          memmove(c->note, c->note + w, c->notelen - (size_t)w);
          c->notelen -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) bad = 1;
      }
      if (!bad && (re & POLLOUT) && !c->notelen && c->pos < total) {
        if (c->pos < oldest()) c->pos = oldest();
        size_t at = c->pos % RING, len = total - c->pos;
        if (len > RING - at) len = RING - at;
        ssize_t w = write(c->fd, ring + at, len);
        if (w > 0) {
          c->pos += (uint64_t)w;
                } else if (w < 0 && errno != EAGAIN && errno != EINTR) bad = 1;
      }
      if (bad) drop(i);
    }
    if (p[0].revents & POLLIN) {
      int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0 && nclis < MAXCLI) clis[nclis++] = (struct cli){.fd = fd};
      else if (fd >= 0) close(fd);
    }
  }
}

/* Starts the keeper for `path` (cols x rows) unless one answers; returns a connection to it. */
static int start(const char *path, unsigned short cols, unsigned short rows) {
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = dial(path);
    if (fd >= 0) return fd;
    char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
      *slash = 0;
      mkdir(dir, 0700);
    }
    struct sockaddr_un a;
    sockaddr_of(path, &a);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0) {
      close(lfd);
      if (errno != EADDRINUSE) die("bind");
      if ((fd = dial(path)) >= 0) return fd;
      unlink(path); /* left by a keeper that died */
      continue;
    }
    if (listen(lfd, 16) < 0) die("listen");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      setsid();
      if (fork() != 0) _exit(0);
      int null = open("/dev/null", O_RDWR);
      struct winsize ws = {.ws_row = rows ? rows : 24, .ws_col = cols ? cols : 80};
      shell = forkpty(&master, NULL, NULL, &ws);
      if (shell < 0) _exit(1);
      if (shell == 0) {
        closefrom(3); /* nothing of the SSH channel or the keeper leaks into the shell */
        const char *sh = getenv("SHELL");
        if (!sh || !*sh) sh = access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
        if (!getenv("TERM")) setenv("TERM", "xterm-256color", 1);
        const char *home = getenv("HOME");
        if (home) (void)!chdir(home);
        const char *base = strrchr(sh, '/');
        char arg0[256];
        snprintf(arg0, sizeof arg0, "-%s", base ? base + 1 : sh);
        execl(sh, arg0, (char *)NULL);
        _exit(127);
      }
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      for (int fd = 3; fd < 1024; fd++)
        if (fd != lfd && fd != master) close(fd); /* the keeper must not hold the SSH channel open */
      serve(lfd);
      unlink(path);
      kill(-shell, SIGHUP);
      _exit(0);
    }
    close(lfd);
    waitpid(pid, NULL, 0);
    if ((fd = dial(path)) >= 0) return fd;
  }
  fprintf(stderr, "lw-term: could not start a session at %s\n", path);
  exit(1);
}

static void put_hello(int fd, char mode, uint32_t replay) {
  unsigned char h[6] = {'h', (unsigned char)mode, replay >> 24, replay >> 16, replay >> 8, replay};
  if (writeall(fd, h, sizeof h) < 0) die("write");
}

static volatile sig_atomic_t winched = 1;
static void on_winch(int s) { (void)s; winched = 1; }
static struct termios saved;
static int raw;
static void restore(void) {
  if (raw) tcsetattr(0, TCSANOW, &saved);
}

static void send_size(int fd) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col) return;
  unsigned char z[5] = {'z', ws.ws_row >> 8, ws.ws_row, ws.ws_col >> 8, ws.ws_col};
  writeall(fd, z, sizeof z);
}

static int attach(const char *path, int ro, int nosize, uint32_t replay) {
  struct winsize ws = {0};
  ioctl(0, TIOCGWINSZ, &ws);
  int fd = ro || nosize ? dial(path) : start(path, ws.ws_col, ws.ws_row);
  if (fd < 0) {
    fprintf(stderr, "lw-term: no session at %s\n", path);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  if (tcgetattr(0, &saved) == 0) {
    struct termios t = saved;
    cfmakeraw(&t);
    if (tcsetattr(0, TCSANOW, &t) == 0) raw = 1;
    atexit(restore);
  }
  struct sigaction sa = {.sa_handler = on_winch};
  sigaction(SIGWINCH, &sa, NULL);
  put_hello(fd, ro ? F_RO : F_RW, replay);
  /* A full reset first: a page re-attaching without a reload must not show the replay twice. */
  writeall(1, "\033c", 2);
  static unsigned char buf[CHUNK];
  int in_open = 1;
  for (;;) {
    if (winched && !ro && !nosize) {
      winched = 0;
      send_size(fd);
    }
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = in_open ? POLLIN : 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) return 0; /* the shell ended */
      if (writeall(1, buf, (size_t)r) < 0) return 0;
    }
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(0, buf + 3, 4096);
      if (r <= 0) return 0;
      if (!ro) {
        buf[0] = 'd';
        buf[1] = (unsigned char)(r >> 8);
        buf[2] = (unsigned char)r;
        if (writeall(fd, buf, (size_t)r + 3) < 0) return 0;
      }
    }
  }
}

static int do_send(const char *path) {
  int fd = dial(path);
  if (fd < 0) {
    fprintf(stderr, "lw-term: no session at %s\n", path);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  put_hello(fd, F_SEND, 0);
  unsigned char buf[3 + 4096];
  for (;;) {
    ssize_t r = read(0, buf + 3, 4096);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    buf[0] = 'd';
    buf[1] = (unsigned char)(r >> 8);
    buf[2] = (unsigned char)r;
    if (writeall(fd, buf, (size_t)r + 3) < 0) return 1;
  }
  shutdown(fd, SHUT_WR);
  char c;
  while (read(fd, &c, 1) > 0) {
  } /* the keeper closes once it has typed everything */
  return 0;
}

static int do_info(const char *path) {
  int fd = dial(path);
  if (fd < 0) {
    fprintf(stderr, "lw-term: no session at %s\n", path);
    return 1;
  }
  put_hello(fd, F_INFO, 0);
  char buf[128];
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) writeall(1, buf, (size_t)r);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: lw-term attach|new|send|info|has SOCKET [...]\n");
    return 2;
  }
  const char *cmd = argv[1], *path = argv[2];
  if (!strcmp(cmd, "attach")) {
    int ro = 0, nosize = 0;
    uint32_t replay = 256 * 1024;
    for (int i = 3; i < argc; i++) {
      if (!strcmp(argv[i], "-r")) ro = 1;
      else if (!strcmp(argv[i], "-n")) nosize = 1;
      else if (!strcmp(argv[i], "-R") && i + 1 < argc) replay = (uint32_t)strtoul(argv[++i], NULL, 10);
    }
    return attach(path, ro, nosize, replay);
  }
  if (!strcmp(cmd, "new") && argc == 5) {
    close(start(path, (unsigned short)atoi(argv[3]), (unsigned short)atoi(argv[4])));
    return 0;
  }
  if (!strcmp(cmd, "send")) return do_send(path);
  if (!strcmp(cmd, "info")) return do_info(path);
  if (!strcmp(cmd, "has")) {
    int fd = dial(path);
    return fd >= 0 ? 0 : 1;
  }
  fprintf(stderr, "lw-term: unknown command %s\n", cmd);
  return 2;
}
