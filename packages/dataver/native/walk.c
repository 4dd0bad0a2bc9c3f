// The workspace walk of `status` and `add` in C: readdir + fstatat on several threads, like
// git's preloaded index. From JavaScript every lstat costs a full path lookup and a Stats
// object; here it is one fstatat relative to an open folder, and the results travel back as
// one buffer of names and one array of numbers. Optional: without it (no compiler, Windows)
// dataver walks in JavaScript with the same results.
//
//   walk(root, threads) -> { names: Buffer, meta: Float64Array, digest: string, newest: number, links: boolean }
//     names:  the paths relative to root, '/'-separated, each ended by a NUL byte, in no order
//             (each thread's folders as it read them)
//     meta:   META numbers per name: kind (1 file, 2 folder, 3 symlink, 4 other), size, mtimeMs, ctimeMs,
//             ino, dev, nlink (0 for all but files: the caller follows a symlink itself)
//     digest: 32 hex digits and the count, which depend on the set of (name, kind, size, mtimeMs, ctimeMs, ino, dev)
//             and on nothing else (not the order, not nlink): two 64-bit multiply-mix hashes of each
//             entry, each summed over all entries, and the count. Computed on the threads as they
//             read, so that a no-op `status` needs neither a sort nor a pass over the listing.
//     newest: the latest mtimeMs or ctimeMs of a file (0 without files); links: a symlink was met
//   Throws an Error whose `code` is the errno name when any folder or file cannot be read.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#define META 7
#define MAX_THREADS 16

#ifdef __APPLE__
#define MTIME(st) ((st).st_mtimespec)
#define CTIME(st) ((st).st_ctimespec)
#else
#define MTIME(st) ((st).st_mtim)
#define CTIME(st) ((st).st_ctim)
#endif

typedef struct {
  char *data;
  size_t len, cap;
} bytes_t;

typedef struct {
  double *data;
  size_t len, cap;
} numbers_t;

typedef struct {
  bytes_t names;
  numbers_t meta;
  uint64_t sum1, sum2; /* the two lanes of the digest */
  double newest;
  int links;
} output_t;

/* wyhash's primes and its multiply-mix: the 128-bit product of a and b, halves xored. */
#define P0 0xa0761d6478bd642fULL
#define P1 0xe7037ed1a0b428dbULL
#define P2 0x8ebc6af09c88c6e3ULL
#define P3 0x589965cc75374cc3ULL

static inline uint64_t mum(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load8(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  memcpy(&v, p, n < 8 ? n : 8);
  return v;
}

/* One entry's hash in one lane: the name 16 bytes at a time, then its numbers two at a time. */
static uint64_t entry_hash(uint64_t seed, const char *name, size_t len, const double *m) {
  const unsigned char *p = (const unsigned char *)name;
  uint64_t h = mum(seed ^ P0, (uint64_t)len ^ P1);
  for (size_t i = 0; i < len; i += 16) {
    size_t left = len - i;
    uint64_t a = load8(p + i, left);
    uint64_t b = left > 8 ? load8(p + i + 8, left - 8) : 0;
    h = mum(a ^ P1, b ^ h);
  }
  uint64_t n[6];
  memcpy(n, m, sizeof n);
  for (int i = 0; i < 6; i += 2) h = mum(n[i] ^ P2, n[i + 1] ^ h);
  return mum(h ^ P3, (uint64_t)len ^ P0);
}

typedef struct {
  int root_fd;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  char **queue; /* folders still to read, relative to root ("" is root itself) */
  size_t queued, queue_cap;
  int busy; /* threads reading a folder now */
  int failed_errno;
  char *failed_path;
  int out_of_memory;
} walk_t;

static int grow(void **data, size_t *cap, size_t need, size_t item) {
  if (need <= *cap) return 1;
  size_t cap2 = *cap ? *cap : 1024;
  while (cap2 < need) cap2 *= 2;
  void *p = realloc(*data, cap2 * item);
  if (!p) return 0;
  *data = p;
  *cap = cap2;
  return 1;
}

static double ms(struct timespec t) { return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6; }

static void fail(walk_t *w, int err, const char *path) {
  pthread_mutex_lock(&w->lock);
  if (!w->failed_errno && !w->out_of_memory) {
    if (err == ENOMEM) w->out_of_memory = 1;
    else {
      w->failed_errno = err;
      w->failed_path = strdup(path);
    }
  }
  pthread_cond_broadcast(&w->wake);
  pthread_mutex_unlock(&w->lock);
}

/* Adds a folder to the queue; the queue owns `rel`. */
static int enqueue(walk_t *w, char *rel) {
  pthread_mutex_lock(&w->lock);
  int ok = grow((void **)&w->queue, &w->queue_cap, w->queued + 1, sizeof(char *));
  if (ok) {
    w->queue[w->queued++] = rel;
    pthread_cond_signal(&w->wake);
  }
  pthread_mutex_unlock(&w->lock);
  return ok;
}

static int emit(output_t *out, const char *rel, size_t rel_len, double kind, const struct stat *st) {
  if (!grow((void **)&out->names.data, &out->names.cap, out->names.len + rel_len + 1, 1)) return 0;
  if (!grow((void **)&out->meta.data, &out->meta.cap, out->meta.len + META, sizeof(double))) return 0;
  memcpy(out->names.data + out->names.len, rel, rel_len + 1);
  out->names.len += rel_len + 1;
  double *m = out->meta.data + out->meta.len;
  out->meta.len += META;
  m[0] = kind;
  if (st) {
    m[1] = (double)st->st_size;
    m[2] = ms(MTIME(*st));
    m[3] = ms(CTIME(*st));
    m[4] = (double)st->st_ino;
    m[5] = (double)st->st_dev;
    m[6] = (double)st->st_nlink;
  } else {
    m[1] = m[2] = m[3] = m[4] = m[5] = m[6] = 0;
  }
  out->sum1 += entry_hash(P1, rel, rel_len, m);
  out->sum2 += entry_hash(P2, rel, rel_len, m);
  if (kind == 1) {
    if (m[2] > out->newest) out->newest = m[2];
    if (m[3] > out->newest) out->newest = m[3];
  } else if (kind == 3)
    out->links = 1;
  return 1;
}

/* Reads one folder: files go to `out`, subfolders to the queue. */
static void read_folder(walk_t *w, output_t *out, const char *dir) {
  int fd = *dir ? openat(w->root_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                : dup(w->root_fd);
  if (fd < 0) return fail(w, errno, dir);
  DIR *d = fdopendir(fd);
  if (!d) {
    int err = errno;
    close(fd);
    return fail(w, err, dir);
  }
  size_t dir_len = strlen(dir);
  char *rel = NULL;
  size_t rel_cap = 0;
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) {
      if (errno) fail(w, errno, dir);
      break;
    }
    const char *name = e->d_name;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    size_t name_len = strlen(name);
    size_t rel_len = dir_len ? dir_len + 1 + name_len : name_len;
    if (!grow((void **)&rel, &rel_cap, rel_len + 1, 1)) {
      fail(w, ENOMEM, dir);
      break;
    }
    if (dir_len) {
      memcpy(rel, dir, dir_len);
      rel[dir_len] = '/';
      memcpy(rel + dir_len + 1, name, name_len + 1);
    } else
      memcpy(rel, name, name_len + 1);
    unsigned char type = e->d_type;
    struct stat st;
    int have_stat = 0;
    if (type == DT_UNKNOWN || type == DT_REG) {
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        fail(w, errno, rel);
        break;
      }
      have_stat = 1;
      type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
    }
    int ok = 1;
    if (type == DT_DIR) {
      char *copy = strdup(rel);
      ok = copy && enqueue(w, copy) && emit(out, rel, rel_len, 2, NULL);
      if (!ok) free(copy);
    } else if (type == DT_REG)
      ok = emit(out, rel, rel_len, 1, have_stat ? &st : NULL);
    else if (type == DT_LNK)
      ok = emit(out, rel, rel_len, 3, NULL);
    else
      ok = emit(out, rel, rel_len, 4, NULL);
    if (!ok) {
      fail(w, ENOMEM, dir);
      break;
    }
  }
  free(rel);
  closedir(d);
}

typedef struct {
  walk_t *walk;
  output_t out;
} worker_t;

static void *work(void *arg) {
  worker_t *self = arg;
  walk_t *w = self->walk;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (!w->queued && w->busy && !w->failed_errno && !w->out_of_memory) pthread_cond_wait(&w->wake, &w->lock);
    if (!w->queued || w->failed_errno || w->out_of_memory) break;
    char *dir = w->queue[--w->queued];
    w->busy++;
    pthread_mutex_unlock(&w->lock);
    read_folder(w, &self->out, dir);
    free(dir);
    pthread_mutex_lock(&w->lock);
    w->busy--;
    if (!w->busy) pthread_cond_broadcast(&w->wake);
  }
  pthread_cond_broadcast(&w->wake);
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

static napi_value throw_errno(napi_env env, int err, const char *path) {
  char message[4096];
  snprintf(message, sizeof message, "%s: %s", strerror(err), path ? path : "");
  napi_value code, msg, error;
  const char *name = err == ENOENT ? "ENOENT" : err == ENOTDIR ? "ENOTDIR" : err == EACCES ? "EACCES"
                   : err == EMFILE ? "EMFILE" : err == ELOOP ? "ELOOP" : "EIO";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_throw(env, error);
  return NULL;
}

static napi_value walk(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char root[4096];
  size_t root_len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], root, sizeof root, &root_len) != napi_ok ||
      root_len >= sizeof root - 1) {
    napi_throw_type_error(env, NULL, "walk(root, threads): root must be a path string");
    return NULL;
  }
  int threads = 2;
  if (argc > 1) napi_get_value_int32(env, argv[1], &threads);
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;

  walk_t w = {0};
  w.root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (w.root_fd < 0) return throw_errno(env, errno, root);
  pthread_mutex_init(&w.lock, NULL);
  pthread_cond_init(&w.wake, NULL);
  worker_t workers[MAX_THREADS];
  pthread_t ids[MAX_THREADS];
  memset(workers, 0, sizeof workers);
  char *top = strdup("");
  if (!top || !enqueue(&w, top)) w.out_of_memory = 1;
  int started = 0;
  for (int i = 0; i < threads && !w.out_of_memory; i++) {
    workers[i].walk = &w;
    if (i == 0 || pthread_create(&ids[i], NULL, work, &workers[i]) == 0) started = i + 1;
    else break;
  }
  if (started) work(&workers[0]); /* this thread is worker 0 */
  for (int i = 1; i < started; i++) pthread_join(ids[i], NULL);
  close(w.root_fd);
  for (size_t i = 0; i < w.queued; i++) free(w.queue[i]);
  free(w.queue);
  pthread_mutex_destroy(&w.lock);
  pthread_cond_destroy(&w.wake);

  napi_value result = NULL;
  if (w.failed_errno || w.out_of_memory) {
    if (w.out_of_memory) napi_throw_error(env, "ENOMEM", "out of memory while walking the folder");
    else throw_errno(env, w.failed_errno, w.failed_path);
  } else {
    size_t name_bytes = 0, count = 0;
    uint64_t sum1 = 0, sum2 = 0;
    double newest = 0;
    int links = 0;
    for (int i = 0; i < started; i++) {
      output_t *o = &workers[i].out;
      name_bytes += o->names.len;
      count += o->meta.len / META;
      sum1 += o->sum1;
      sum2 += o->sum2;
      if (o->newest > newest) newest = o->newest;
      links |= o->links;
    }
    void *names_data, *meta_data;
    napi_value names, meta_buffer, meta, digest, newest_value, links_value;
    napi_create_buffer(env, name_bytes, &names_data, &names);
    napi_create_arraybuffer(env, count * META * sizeof(double), &meta_data, &meta_buffer);
    napi_create_typedarray(env, napi_float64_array, count * META, meta_buffer, 0, &meta);
    char *names_at = names_data;
    double *meta_at = meta_data;
    for (int i = 0; i < started; i++) {
      output_t *o = &workers[i].out;
      if (o->names.len) memcpy(names_at, o->names.data, o->names.len);
      if (o->meta.len) memcpy(meta_at, o->meta.data, o->meta.len * sizeof(double));
      names_at += o->names.len;
      meta_at += o->meta.len;
    }
    char hex[64];
    snprintf(hex, sizeof hex, "%016llx%016llx-%zu", (unsigned long long)sum1, (unsigned long long)sum2, count);
    napi_create_string_utf8(env, hex, NAPI_AUTO_LENGTH, &digest);
    napi_create_double(env, newest, &newest_value);
    napi_get_boolean(env, links, &links_value);
    napi_create_object(env, &result);
    napi_set_named_property(env, result, "names", names);
    napi_set_named_property(env, result, "meta", meta);
    napi_set_named_property(env, result, "digest", digest);
    napi_set_named_property(env, result, "newest", newest_value);
    napi_set_named_property(env, result, "links", links_value);
  }
  free(w.failed_path);
  for (int i = 0; i < started; i++) {
    free(workers[i].out.names.data);
    free(workers[i].out.meta.data);
  }
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "walk", NAPI_AUTO_LENGTH, walk, NULL, &fn);
  napi_set_named_property(env, exports, "walk", fn);
  return exports;
}
