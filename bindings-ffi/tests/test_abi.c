/* C tests of libtermauth: every flow vector and every session vector replayed through the
 * ABI, malformed input, sessions whose storage the library executes (advance) or the test
 * hands over (storage_execute_json), and logins against the real IdP: the sans-IO device
 * flow and a whole device session driven by a tiny C executor (HTTP, approval, waits), and
 * the batteries-included client (client credentials, device, API key), with refresh
 * rotation and revocation. Run under valgrind by bindings-ffi/test.sh.
 *
 *   test_abi VECTOR_DIR [ISSUER]      (ISSUER: the test IdP; without it the IdP tests are skipped)
 *
 * Prints one line per failure and a final summary "N passed, M failed". */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "../include/termauth.h"
#include "http.h"

static int passed, failed;

#define CHECK(cond, ...)                              \
  do {                                                \
    if (cond) {                                       \
      passed++;                                       \
    } else {                                          \
      failed++;                                       \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                   \
      fprintf(stderr, "\n");                          \
    }                                                 \
  } while (0)

#define S(str) (const uint8_t *)(str), strlen(str)

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

/* A test's temporary directory, removed with everything in it (links are not followed). */
static void remove_tree(const char *dir) {
  CHECK(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0, "remove %s", dir);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  size_t got = fread(buf, 1, (size_t)n, f);
  fclose(f);
  buf[got] = 0;
  if (len) *len = got;
  return buf;
}

/* JSON helpers over the ABI (the caller frees the result with termauth_string_free). */
static char *jget(const char *json, const char *pointer) {
  char *out = NULL;
  if (termauth_json_get(S(json), S(pointer), &out, NULL) != TERMAUTH_STATUS_OK) return NULL;
  return out;
}
static char *jstr(const char *json, const char *pointer) {
  char *out = NULL;
  if (termauth_json_get_string(S(json), S(pointer), &out, NULL) != TERMAUTH_STATUS_OK) return NULL;
  return out;
}
static bool jeq(const char *a, const char *b) {
  bool eq = false;
  return termauth_json_equal(S(a), S(b), &eq, NULL) == TERMAUTH_STATUS_OK && eq;
}

static char *error_id(const termauth_error *e) {
  char *buf = malloc(512);
  termauth_str k = termauth_error_kind(e), c = termauth_error_code(e);
  snprintf(buf, 512, "{\"kind\":\"%s\",\"code\":\"%s\"}", k.data ? k.data : "", c.data ? c.data : "");
  return buf;
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* ─────────────────────────── vectors ─────────────────────────── */

static int json_file(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static int replay_vector(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  char *v = read_file(path, NULL);
  if (!v) {
    fprintf(stderr, "FAIL %s: unreadable\n", name);
    return 1;
  }
  int problems = 0;
  char *seed_hex = jstr(v, "/seed");
  uint8_t seed[32] = {0};
  for (int i = 0; seed_hex && i < 32 && seed_hex[2 * i]; i++)
    seed[i] = (uint8_t)(hexval(seed_hex[2 * i]) * 16 + hexval(seed_hex[2 * i + 1]));
  termauth_string_free(seed_hex);
  char *spec = jget(v, "/spec");
  char *expect_start = jget(v, "/expect_start_error");
  termauth_flow *flow = NULL;
  termauth_error *err = NULL;
  termauth_status st = termauth_flow_new(S(spec), seed, &flow, &err);
  if (st != TERMAUTH_STATUS_OK) {
    char *got = error_id(err);
    if (!expect_start || !jeq(got, expect_start)) {
      fprintf(stderr, "FAIL %s start: expected %s, got error %s\n", name, expect_start ? expect_start : "success", got);
      problems++;
    }
    free(got);
    termauth_error_free(err);
  } else if (expect_start) {
    fprintf(stderr, "FAIL %s: flow started, expected %s\n", name, expect_start);
    problems++;
  } else {
    char *steps = jget(v, "/steps");
    for (int i = 0;; i++) {
      char ptr[32];
      snprintf(ptr, sizeof ptr, "/%d", i);
      char *step = jget(steps, ptr);
      if (!step) break;
      char *poll = jget(step, "/poll");
      char *input = jget(step, "/handle");
      if (poll) {
        char *expect = jget(step, "/expect");
        termauth_action a;
        termauth_str json = {0};
        if (termauth_flow_poll(flow, strtoull(poll, NULL, 10), &a) != TERMAUTH_STATUS_OK ||
            termauth_flow_action_json(flow, &json) != TERMAUTH_STATUS_OK || !expect || !jeq(json.data, expect)) {
          fprintf(stderr, "FAIL %s step %d poll:\n  expected %s\n  got      %s\n", name, i, expect ? expect : "(none)",
                  json.data ? json.data : "(none)");
          problems++;
        }
        termauth_string_free(expect);
      } else if (input) {
        char *now = jget(step, "/now");
        char *expect_error = jget(step, "/expect_error");
        termauth_error *herr = NULL;
        termauth_status hs = termauth_flow_handle_json(flow, S(input), now ? strtoull(now, NULL, 10) : 0, &herr);
        if (hs == TERMAUTH_STATUS_OK && expect_error) {
          fprintf(stderr, "FAIL %s step %d: input accepted, expected error %s\n", name, i, expect_error);
          problems++;
        } else if (hs != TERMAUTH_STATUS_OK) {
          char *got = error_id(herr);
          if (!expect_error || !jeq(got, expect_error)) {
            fprintf(stderr, "FAIL %s step %d: input refused with %s (%s), expected %s\n", name, i, got,
                    termauth_error_message(herr).data, expect_error ? expect_error : "success");
            problems++;
          }
          free(got);
          termauth_error_free(herr);
        }
        termauth_string_free(now);
        termauth_string_free(expect_error);
      } else {
        fprintf(stderr, "FAIL %s step %d: neither poll nor handle\n", name, i);
        problems++;
      }
      termauth_string_free(poll);
      termauth_string_free(input);
      termauth_string_free(step);
    }
    termauth_string_free(steps);
    termauth_flow_free(flow);
  }
  termauth_string_free(spec);
  termauth_string_free(expect_start);
  free(v);
  return problems;
}

static void test_vectors(const char *dir) {
  struct dirent **list;
  int n = scandir(dir, &list, json_file, alphasort);
  CHECK(n >= 40, "expected at least 40 vectors in %s, found %d", dir, n);
  int ok = 0;
  for (int i = 0; i < n; i++) {
    int problems = replay_vector(dir, list[i]->d_name);
    CHECK(problems == 0, "vector %s", list[i]->d_name);
    if (problems == 0) ok++;
    free(list[i]);
  }
  if (n > 0) free(list);
  printf("vectors: %d of %d replayed through the C ABI\n", ok, n);
}

/* A growing string, for the JSON the tests build. */
typedef struct {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
/* Appends s (n bytes) as a JSON string literal. */
static void sb_json(sbuf *b, const char *s, size_t n) {
  sb_add(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\', esc[1] = (char)c;
      sb_add(b, esc, 2);
    } else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      sb_add(b, esc, 6);
    } else {
      sb_add(b, (const char *)&c, 1);
    }
  }
  sb_add(b, "\"", 1);
}

/* ─────────────────────────── session vectors ─────────────────────────── */

static int replay_session_vector(const char *dir, const char *name) {
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  char *v = read_file(path, NULL);
  if (!v) {
    fprintf(stderr, "FAIL session/%s: unreadable\n", name);
    return 1;
  }
  int problems = 0;
  char *seed_hex = jstr(v, "/seed");
  uint8_t seed[32] = {0};
  for (int i = 0; seed_hex && i < 32 && seed_hex[2 * i]; i++)
    seed[i] = (uint8_t)(hexval(seed_hex[2 * i]) * 16 + hexval(seed_hex[2 * i + 1]));
  termauth_string_free(seed_hex);
  char *start = jget(v, "/start");
  char *spec = jget(v, "/spec");
  char *expect_start = jget(v, "/expect_start_error");
  termauth_session *session = NULL;
  termauth_error *err = NULL;
  termauth_status st = termauth_session_new((const uint8_t *)spec, spec ? strlen(spec) : 0, seed,
                                            start ? strtoull(start, NULL, 10) : 0, &session, &err);
  if (st != TERMAUTH_STATUS_OK) {
    char *got = error_id(err);
    if (!expect_start || !jeq(got, expect_start)) {
      fprintf(stderr, "FAIL session/%s start: expected %s, got error %s\n", name, expect_start ? expect_start : "success", got);
      problems++;
    }
    free(got);
    termauth_error_free(err);
  } else if (expect_start) {
    fprintf(stderr, "FAIL session/%s: session started, expected %s\n", name, expect_start);
    problems++;
  } else {
    char *steps = jget(v, "/steps");
    for (int i = 0; steps; i++) {
      char ptr[32];
      snprintf(ptr, sizeof ptr, "/%d", i);
      char *step = jget(steps, ptr);
      if (!step) break;
      char *poll = jget(step, "/poll");
      char *input = jget(step, "/handle");
      if (poll) {
        char *expect = jget(step, "/expect");
        termauth_str json = {0};
        if (termauth_session_poll_json(session, strtoull(poll, NULL, 10), &json, NULL) != TERMAUTH_STATUS_OK || !expect ||
            !jeq(json.data, expect)) {
          fprintf(stderr, "FAIL session/%s step %d poll:\n  expected %s\n  got      %s\n", name, i, expect ? expect : "(none)",
                  json.data ? json.data : "(none)");
          problems++;
        }
        termauth_string_free(expect);
      } else if (input) {
        char *now = jget(step, "/now");
        char *expect_error = jget(step, "/expect_error");
        termauth_error *herr = NULL;
        termauth_status hs = termauth_session_handle_json(session, S(input), now ? strtoull(now, NULL, 10) : 0, &herr);
        if (hs == TERMAUTH_STATUS_OK && expect_error) {
          fprintf(stderr, "FAIL session/%s step %d: input accepted, expected error %s\n", name, i, expect_error);
          problems++;
        } else if (hs != TERMAUTH_STATUS_OK) {
          char *got = error_id(herr);
          if (!expect_error || !jeq(got, expect_error)) {
            fprintf(stderr, "FAIL session/%s step %d: input refused with %s (%s), expected %s\n", name, i, got,
                    termauth_error_message(herr).data, expect_error ? expect_error : "success");
            problems++;
          }
          free(got);
          termauth_error_free(herr);
        }
        termauth_string_free(now);
        termauth_string_free(expect_error);
      } else {
        fprintf(stderr, "FAIL session/%s step %d: neither poll nor handle\n", name, i);
        problems++;
      }
      termauth_string_free(poll);
      termauth_string_free(input);
      termauth_string_free(step);
    }
    termauth_string_free(steps);
    termauth_session_free(session);
  }
  termauth_string_free(start);
  termauth_string_free(spec);
  termauth_string_free(expect_start);
  free(v);
  return problems;
}

static void test_session_vectors(const char *vectors) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/session", vectors);
  struct dirent **list = NULL;
  int n = scandir(dir, &list, json_file, alphasort);
  if (n <= 0) {
    if (list) free(list);
    printf("\n*** SKIPPED: no session vectors in %s yet (tests/vectors/session/*.json); the C session replay did not run ***\n\n",
           dir);
    return;
  }
  CHECK(n >= 30, "expected at least 30 session vectors in %s, found %d", dir, n);
  int ok = 0;
  for (int i = 0; i < n; i++) {
    int problems = replay_session_vector(dir, list[i]->d_name);
    CHECK(problems == 0, "session vector %s", list[i]->d_name);
    if (problems == 0) ok++;
    free(list[i]);
  }
  free(list);
  printf("session vectors: %d of %d replayed through the C ABI\n", ok, n);
}

/* ─────────────────────────── sessions without a server ─────────────────────────── */

/* A spec for app "ctest" in config directory `dir`, with this process's environment. */
static char *session_spec(const char *command, const char *issuer_url, const char *client_id, const char *dir, const char *extra) {
  char *env = NULL;
  if (termauth_environment_json(S("ctest"), &env, NULL) != TERMAUTH_STATUS_OK) return NULL;
  sbuf b = {0};
  sb_str(&b, "{\"command\":");
  sb_str(&b, command);
  sb_str(&b, ",\"config\":{\"app\":\"ctest\",\"issuer\":");
  sb_json(&b, issuer_url, strlen(issuer_url));
  sb_str(&b, ",\"client_id\":");
  sb_json(&b, client_id, strlen(client_id));
  sb_str(&b, ",\"config_dir\":");
  sb_json(&b, dir, strlen(dir));
  sb_str(&b, extra ? extra : "");
  sb_str(&b, "},\"environment\":");
  sb_str(&b, env);
  sb_str(&b, "}");
  termauth_string_free(env);
  return b.p;
}

/* Runs a session that needs no network with advance: returns the done result (free it) or
 * NULL, and the failure's error JSON in *failure (optional, free it). */
static char *advance_offline(const char *spec, char **failure) {
  termauth_session *s = NULL;
  termauth_error *err = NULL;
  if (termauth_session_new(S(spec), NULL, now_ms(), &s, &err) != TERMAUTH_STATUS_OK) {
    fprintf(stderr, "session_new: %s\n", termauth_error_message(err).data);
    termauth_error_free(err);
    return NULL;
  }
  char *result = NULL;
  for (int i = 0; i < 100; i++) {
    termauth_str a = {0};
    if (termauth_session_advance_json(s, now_ms(), &a, &err) != TERMAUTH_STATUS_OK) {
      fprintf(stderr, "advance: %s\n", termauth_error_message(err).data);
      termauth_error_free(err);
      break;
    }
    char *type = jstr(a.data, "/type");
    int stop = 1;
    if (type && strcmp(type, "done") == 0) {
      result = jget(a.data, "/result");
    } else if (type && strcmp(type, "failed") == 0) {
      if (failure) *failure = jget(a.data, "/error");
    } else if (type && (strcmp(type, "notice") == 0)) {
      stop = 0;
    } else {
      fprintf(stderr, "unexpected action without a server: %s\n", a.data);
    }
    termauth_string_free(type);
    if (stop) break;
  }
  termauth_session_free(s);
  return result;
}

static int is_storage(const char *type) {
  static const char *const names[] = {"read_file",        "write_file",    "remove_file", "list_dir",       "create_exclusive",
                                      "process_alive",    "keyring_get",   "keyring_set", "keyring_delete", NULL};
  for (int i = 0; names[i]; i++)
    if (strcmp(type, names[i]) == 0) return 1;
  return 0;
}

static void test_malformed_session(void) {
  termauth_session *s = (termauth_session *)0x1;
  termauth_error *err = NULL;
  const uint8_t bad_utf8[] = {'{', '"', 0xff, 0xfe, '"', '}'};
  CHECK(termauth_session_new(bad_utf8, sizeof bad_utf8, NULL, 1, &s, &err) == TERMAUTH_STATUS_INVALID_UTF8 &&
            s == (termauth_session *)0x1,
        "session: bad utf8");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_session_new(NULL, 3, NULL, 1, &s, &err) == TERMAUTH_STATUS_NULL_ARGUMENT, "session: NULL spec");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_session_new(S("{}"), NULL, 1, NULL, NULL) == TERMAUTH_STATUS_NULL_ARGUMENT, "session: NULL out");
  CHECK(termauth_session_new(S("{\"command\":{\"op\":\"get_token\"}"), NULL, 1, &s, &err) == TERMAUTH_STATUS_USAGE &&
            err && strcmp(termauth_error_code(err).data, "invalid_session_spec") == 0,
        "session: not JSON");
  termauth_error_free(err), err = NULL;
  /* a secret in a refused spec is never quoted back */
  const char *bad = "{\"command\":{\"op\":\"login\",\"method\":\"token\",\"token\":\"hunter2-secret\",\"bogus\":1},"
                    "\"config\":{\"app\":\"a\",\"issuer\":\"https://as\",\"client_id\":\"c\"},\"environment\":{}}";
  CHECK(termauth_session_new(S(bad), NULL, 1, &s, &err) == TERMAUTH_STATUS_USAGE && err &&
            strstr(termauth_error_message(err).data, "bogus") && !strstr(termauth_error_message(err).data, "hunter2") &&
            !strstr(termauth_error_json(err).data, "hunter2"),
        "session: the member at fault named, its secret not: %s", err ? termauth_error_message(err).data : "");
  termauth_error_free(err), err = NULL;
  const char *bad_profile = "{\"command\":{\"op\":\"status\"},\"config\":{\"app\":\"a\",\"issuer\":\"https://as\","
                            "\"client_id\":\"c\",\"profile\":\"../x\"},\"environment\":{}}";
  CHECK(termauth_session_new(S(bad_profile), NULL, 1, &s, &err) == TERMAUTH_STATUS_USAGE && err &&
            strcmp(termauth_error_code(err).data, "invalid_profile") == 0,
        "session: bad profile refused at start");
  termauth_error_free(err), err = NULL;
  termauth_str v = {0};
  CHECK(termauth_session_poll_json(NULL, 1, &v, NULL) == TERMAUTH_STATUS_NULL_ARGUMENT, "session: poll NULL");
  CHECK(termauth_session_advance_json(NULL, 1, &v, NULL) == TERMAUTH_STATUS_NULL_ARGUMENT, "session: advance NULL");
  CHECK(termauth_session_handle_json(NULL, S("{\"type\":\"cancel\"}"), 1, NULL) == TERMAUTH_STATUS_NULL_ARGUMENT,
        "session: handle NULL");

  /* start_json: this process's environment, storage done in place: nothing stored here, so
   * the first action to hand out is already the failure */
  termauth_session *started = NULL;
  termauth_str first = {0};
  const char *cfg = "{\"app\":\"ctest-start\",\"issuer\":\"https://as.example\",\"client_id\":\"c\","
                    "\"config_dir\":\"/nonexistent/termauth-ctest-start\"}";
  CHECK(termauth_session_start_json(S("{\"op\":\"get_token\"}"), S(cfg), 1000, &started, &first, &err) ==
                TERMAUTH_STATUS_OK &&
            first.data && strstr(first.data, "\"failed\"") && strstr(first.data, "not_logged_in"),
        "session: start_json advances to the failure: %s", first.data ? first.data : (err ? termauth_error_message(err).data : ""));
  termauth_session_free(started), started = NULL;
  termauth_error_free(err), err = NULL;
  CHECK(termauth_session_start_json(S("{\"op\":\"nope\"}"), S(cfg), 1000, &started, &first, &err) == TERMAUTH_STATUS_USAGE &&
            started == NULL && err && strcmp(termauth_error_code(err).data, "invalid_session_spec") == 0,
        "session: start_json refuses a bad command");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_session_start_json(S("{\"op\":\"get_token\"}"), S(cfg), 1000, NULL, &first, NULL) ==
            TERMAUTH_STATUS_NULL_ARGUMENT,
        "session: start_json NULL out");

  /* a live session (environment: none of this process's) */
  const char *spec = "{\"command\":{\"op\":\"get_token\"},\"config\":{\"app\":\"a\",\"issuer\":\"https://as.example\","
                     "\"client_id\":\"c\",\"config_dir\":\"/nonexistent/termauth-ctest\"},\"environment\":{}}";
  CHECK(termauth_session_new(S(spec), NULL, 1000, &s, &err) == TERMAUTH_STATUS_OK, "session: start");
  CHECK(termauth_session_poll_json(s, 1000, NULL, NULL) == TERMAUTH_STATUS_NULL_ARGUMENT, "session: poll NULL out");
  CHECK(termauth_session_poll_json(s, 1000, &v, NULL) == TERMAUTH_STATUS_OK && strstr(v.data, "\"read_file\""),
        "session: first action reads profiles.json: %s", v.data ? v.data : "");
  char *id = jget(v.data, "/id");
  CHECK(termauth_session_handle_json(s, bad_utf8, sizeof bad_utf8, 1000, &err) == TERMAUTH_STATUS_INVALID_UTF8,
        "session: bad utf8 input");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_session_handle_json(s, S("[1,"), 1000, &err) == TERMAUTH_STATUS_USAGE && err &&
            strcmp(termauth_error_code(err).data, "invalid_input") == 0,
        "session: garbage input");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_session_handle_json(s, S("{\"type\":\"file_contents\",\"id\":999,\"contents\":null}"), 1000, &err) ==
                TERMAUTH_STATUS_USAGE &&
            err && strcmp(termauth_error_code(err).data, "unknown_request_id") == 0,
        "session: unknown id");
  termauth_error_free(err), err = NULL;
  char input[256];
  snprintf(input, sizeof input, "{\"type\":\"http_response\",\"id\":%s,\"status\":200,\"headers\":[],\"body\":\"\"}", id ? id : "0");
  CHECK(termauth_session_handle_json(s, S(input), 1000, &err) == TERMAUTH_STATUS_USAGE && err &&
            strcmp(termauth_error_code(err).data, "unexpected_input") == 0,
        "session: wrong kind of answer");
  termauth_error_free(err), err = NULL;
  /* the refused inputs changed nothing: the same request is still awaited; the test
   * answers it with the library's own storage executor */
  CHECK(termauth_session_poll_json(s, 1000, &v, NULL) == TERMAUTH_STATUS_OK && strstr(v.data, "\"await_response\""),
        "session: still awaiting: %s", v.data ? v.data : "");
  termauth_string_free(id);
  /* cancel is always accepted; then the storage executor refuses non-storage actions */
  CHECK(termauth_session_handle_json(s, S("{\"type\":\"cancel\"}"), 1000, &err) == TERMAUTH_STATUS_OK, "session: cancel");
  termauth_session_free(s);

  char *out = (char *)0x1;
  CHECK(termauth_storage_execute_json(S("{\"type\":\"send_request\",\"id\":1}"), &out, &err) == TERMAUTH_STATUS_USAGE &&
            out == (char *)0x1 && err && strcmp(termauth_error_code(err).data, "not_storage") == 0,
        "storage: refuses a non-storage action");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_storage_execute_json(S("{\"type\":\"read_file\",\"id\":7,\"path\":\"/nonexistent/termauth/x.json\"}"), &out, &err) ==
                TERMAUTH_STATUS_OK &&
            jeq(out, "{\"type\":\"file_contents\",\"id\":7,\"contents\":null}"),
        "storage: a missing file reads as null: %s", out);
  termauth_string_free(out);
  CHECK(termauth_storage_execute_json(S("{\"type\":\"list_dir\",\"id\":8,\"path\":\"/proc/self/fd/0/x\"}"), &out, &err) ==
                TERMAUTH_STATUS_OK &&
            strstr(out, "\"io_error\""),
        "storage: an OS failure is an io_error input: %s", out);
  termauth_string_free(out);

  /* environment and QR code */
  CHECK(termauth_environment_json(S("ctest"), &out, &err) == TERMAUTH_STATUS_OK && strstr(out, "\"platform\"") &&
            strstr(out, "\"pid\""),
        "environment");
  termauth_string_free(out);
  CHECK(termauth_qr_lines_json(S("https://as.example/device?user_code=ABCD-EFGH"), &out, &err) == TERMAUTH_STATUS_OK &&
            out[0] == '[' && strlen(out) > 200,
        "qr lines");
  termauth_string_free(out);

  /* terminal rendering: a prompt laid out (the QR code last, where it fits), a progress frame
   * that fits its row, the end of a wait; malformed input refused */
  const char *prompt = "{\"lines\":[\"enter the code: WDJB-MJHT\"],\"qr\":{\"caption\":\"scan:\",\"data\":\"https://as.example/d\"}}";
  CHECK(termauth_layout_json(S(prompt), S("{\"columns\":80,\"rows\":40,\"rich\":true}"), &out, &err) == TERMAUTH_STATUS_OK &&
            strstr(out, "\"scan:\"") && !strstr(out, "\"erase_rows\":0"),
        "layout with a QR code: %s", out ? out : "");
  termauth_string_free(out), out = NULL;
  CHECK(termauth_layout_json(S(prompt), S("{\"columns\":30,\"rows\":24,\"rich\":true}"), &out, &err) == TERMAUTH_STATUS_OK &&
            !strstr(out, "scan:") && strstr(out, "\"erase_rows\":0"),
        "no QR code at 30 columns: %s", out ? out : "");
  termauth_string_free(out), out = NULL;
  const char *progress = "{\"text\":\"Waiting for code WDJB-MJHT… {left} left\",\"shorter\":[\"WDJB-MJHT {left}\"],\"until_ms\":62500}";
  CHECK(termauth_progress_frame(S(progress), 1000, S("{\"columns\":20,\"rich\":true}"), &out, &err) == TERMAUTH_STATUS_OK &&
            strcmp(out, "\r\x1b[2K\u280b WDJB-MJHT 1:01") == 0,
        "progress frame at 20 columns: %s", out ? out : "");
  termauth_string_free(out), out = NULL;
  CHECK(termauth_end_of_wait(true, 18, &out, &err) == TERMAUTH_STATUS_OK && strcmp(out, "\r\x1b[2K\x1b[18A\x1b[J") == 0,
        "end of wait");
  termauth_string_free(out), out = NULL;
  CHECK(termauth_layout_json(S("{\"lines\":"), S("{}"), &out, &err) == TERMAUTH_STATUS_USAGE && err &&
            strcmp(termauth_error_code(err).data, "invalid_prompt") == 0,
        "a malformed prompt is refused");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_progress_frame(S(progress), 0, S("{\"columns\":\"wide\"}"), &out, &err) == TERMAUTH_STATUS_USAGE && err &&
            strcmp(termauth_error_code(err).data, "invalid_screen") == 0,
        "a malformed screen is refused");
  termauth_error_free(err), err = NULL;

  /* error objects from JSON, and the exit code every language uses */
  termauth_error *made = NULL;
  CHECK(termauth_error_from_json(S("{\"kind\":\"oauth\",\"code\":\"invalid_grant\",\"message\":\"m\",\"hint\":\"reauthenticate\","
                                   "\"status\":400,\"error\":\"invalid_grant\"}"),
                                 &made, &err) == TERMAUTH_STATUS_OK &&
            termauth_error_exit_code(made) == 3 && termauth_error_status(made) == 400 &&
            strcmp(termauth_error_oauth_error(made).data, "invalid_grant") == 0,
        "error from json: exit code 3");
  termauth_error_free(made), made = NULL;
  CHECK(termauth_error_from_json(S("{\"kind\":\"interrupted\",\"code\":\"cancelled\",\"message\":\"m\",\"hint\":\"fatal\"}"), &made,
                                 &err) == TERMAUTH_STATUS_OK &&
            termauth_error_exit_code(made) == 130,
        "cancelled: exit code 130");
  termauth_error_free(made), made = NULL;
  CHECK(termauth_error_from_json(S("{\"kind\":\"nope\",\"code\":\"x\",\"message\":\"m\",\"hint\":\"fatal\"}"), &made, &err) ==
            TERMAUTH_STATUS_USAGE,
        "error from json: unknown kind refused");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_error_exit_code(NULL) == 6, "exit code of NULL");
}

/* Sessions whose storage is real files, with no server: an API key login, get_token,
 * status, profiles, logout; a keyring-only login refused before anything else happens. */
static void test_session_offline(void) {
  char dir[] = "/tmp/termauth-c-session-XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  const char *as = "https://as.example";
  char *failure = NULL;
  char *spec = session_spec("{\"op\":\"login\",\"method\":\"token\",\"token\":\"pat-offline\"}", as, "cli", dir, ",\"store\":\"file\"");
  char *result = advance_offline(spec, &failure);
  CHECK(result && strstr(result, "\"kind\":\"login\"") && strstr(result, "\"method\":\"token\"") && strstr(result, "\"text\""),
        "session login with a key: %s %s", result ? result : "", failure ? failure : "");
  termauth_string_free(result), result = NULL;
  free(spec);

  /* get_token by hand: poll, and the test hands each storage action to the executor */
  spec = session_spec("{\"op\":\"get_token\"}", as, "cli", dir, NULL);
  termauth_session *s = NULL;
  termauth_error *err = NULL;
  CHECK(termauth_session_new(S(spec), NULL, now_ms(), &s, &err) == TERMAUTH_STATUS_OK, "get_token session");
  int storage_calls = 0;
  char *token = NULL;
  for (int i = 0; s && i < 50; i++) {
    termauth_str a;
    if (termauth_session_poll_json(s, now_ms(), &a, NULL) != TERMAUTH_STATUS_OK) break;
    char *type = jstr(a.data, "/type");
    if (type && is_storage(type)) {
      char *answer = NULL;
      storage_calls++;
      if (termauth_storage_execute_json(S(a.data), &answer, &err) != TERMAUTH_STATUS_OK ||
          termauth_session_handle_json(s, S(answer), now_ms(), &err) != TERMAUTH_STATUS_OK) {
        fprintf(stderr, "storage round trip: %s\n", err ? termauth_error_message(err).data : "?");
        termauth_error_free(err), err = NULL;
        termauth_string_free(answer);
        termauth_string_free(type);
        break;
      }
      termauth_string_free(answer);
    } else {
      if (type && strcmp(type, "done") == 0) token = jstr(a.data, "/result/token");
      termauth_string_free(type);
      break;
    }
    termauth_string_free(type);
  }
  CHECK(token && strcmp(token, "pat-offline") == 0 && storage_calls >= 2, "get_token through storage_execute_json (%d calls)",
        storage_calls);
  termauth_string_free(token);
  termauth_session_free(s);
  free(spec);

  spec = session_spec("{\"op\":\"status\"}", as, "cli", dir, NULL);
  result = advance_offline(spec, NULL);
  CHECK(result && strstr(result, "\"source\":\"store\"") && strstr(result, "\"credential_kind\":\"api_key\""), "status: %s", result ? result : "");
  termauth_string_free(result), result = NULL;
  free(spec);
  /* a prepared configuration: with `token`, a cached token comes alone (no action JSON);
   * without it, or for another command, the action comes as with start_json */
  char prepared_json[512];
  snprintf(prepared_json, sizeof prepared_json,
           "{\"app\":\"ctest\",\"issuer\":\"%s\",\"client_id\":\"cli\",\"config_dir\":\"%s\"}", as, dir);
  termauth_session_config *prepared = NULL;
  CHECK(termauth_session_config_new(S(prepared_json), &prepared, &err) == TERMAUTH_STATUS_OK && prepared,
        "prepared config: %s", err ? termauth_error_message(err).data : "");
  termauth_error_free(err), err = NULL;
  termauth_str action = {0}, tok = {0};
  CHECK(termauth_session_start_prepared(prepared, S("{\"op\":\"get_token\"}"), now_ms(), &s, &action, &tok, &err) ==
                TERMAUTH_STATUS_OK &&
            tok.data && strcmp(tok.data, "pat-offline") == 0 && tok.len == strlen("pat-offline") && !action.data,
        "prepared get_token: the token alone: %s", err ? termauth_error_message(err).data : "");
  termauth_session_free(s), s = NULL;
  termauth_error_free(err), err = NULL;
  CHECK(termauth_session_start_prepared(prepared, S("{\"op\":\"get_token\"}"), now_ms(), &s, &action, NULL, &err) ==
                TERMAUTH_STATUS_OK &&
            action.data && strstr(action.data, "\"done\"") && strstr(action.data, "pat-offline"),
        "prepared get_token without the token path: the action: %s", action.data ? action.data : "");
  termauth_session_free(s), s = NULL;
  tok.data = (const char *)0x1;
  CHECK(termauth_session_start_prepared(prepared, S("{\"op\":\"status\"}"), now_ms(), &s, &action, &tok, &err) ==
                TERMAUTH_STATUS_OK &&
            !tok.data && action.data && strstr(action.data, "\"status\""),
        "prepared status: no token, the action: %s", action.data ? action.data : "");
  termauth_session_free(s), s = NULL;
  CHECK(termauth_session_start_prepared(prepared, S("{\"op\":\"nope\"}"), now_ms(), &s, &action, &tok, &err) ==
                TERMAUTH_STATUS_USAGE &&
            !s && err && strstr(termauth_error_message(err).data, "`op` has an unknown value"),
        "prepared: a bad command named: %s", err ? termauth_error_message(err).data : "");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_session_start_prepared(NULL, S("{\"op\":\"status\"}"), now_ms(), &s, &action, &tok, NULL) ==
            TERMAUTH_STATUS_NULL_ARGUMENT,
        "prepared: NULL config");
  termauth_session_config_free(prepared);
  termauth_session_config_free(NULL);
  /* a refused configuration names the member, never the secret in it */
  CHECK(termauth_session_config_new(S("{\"app\":\"a\",\"issuer\":\"https://as\",\"client_id\":\"c\","
                                      "\"client_secret\":\"hunter2-secret\",\"bogus\":1}"),
                                    &prepared, &err) == TERMAUTH_STATUS_USAGE &&
            err && strstr(termauth_error_message(err).data, "`bogus`") && !strstr(termauth_error_json(err).data, "hunter2"),
        "prepared config: the member at fault: %s", err ? termauth_error_message(err).data : "");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_session_config_new(S("{\"app\":\"a\",\"issuer\":\"https://u:pw@as\",\"client_id\":\"c\"}"), &prepared, &err) ==
                TERMAUTH_STATUS_USAGE &&
            err && strcmp(termauth_error_code(err).data, "invalid_issuer") == 0,
        "prepared config: checked as a session starts");
  termauth_error_free(err), err = NULL;

  spec = session_spec("{\"op\":\"profiles\"}", as, "cli", dir, NULL);
  result = advance_offline(spec, NULL);
  CHECK(result && jeq(result, "{\"kind\":\"profiles\",\"profiles\":[{\"name\":\"default\",\"active\":true}]}"), "profiles: %s",
        result ? result : "");
  termauth_string_free(result), result = NULL;
  free(spec);
  spec = session_spec("{\"op\":\"logout\"}", as, "cli", dir, NULL);
  result = advance_offline(spec, NULL);
  CHECK(result && strstr(result, "\"removed\":true") && strstr(result, "\"revoked\":false"), "logout of a key: %s", result ? result : "");
  termauth_string_free(result), result = NULL;
  free(spec);
  spec = session_spec("{\"op\":\"get_token\"}", as, "cli", dir, NULL);
  result = advance_offline(spec, &failure);
  CHECK(!result && failure && strstr(failure, "\"not_logged_in\""), "logged out: %s", failure ? failure : "");
  if (failure) {
    termauth_error *e = NULL;
    CHECK(termauth_error_from_json(S(failure), &e, NULL) == TERMAUTH_STATUS_OK && termauth_error_exit_code(e) == 3,
          "not_logged_in exits 3");
    termauth_error_free(e);
  }
  termauth_string_free(failure), failure = NULL;
  free(spec);

  /* keyring only, with TERMAUTH_NO_KEYRING set: refused before any request is sent */
  spec = session_spec("{\"op\":\"login\",\"method\":\"device\"}", as, "cli", dir, ",\"store\":\"keyring\"");
  result = advance_offline(spec, &failure);
  CHECK(!result && failure && strstr(failure, "\"keyring_unavailable\""), "keyring probe first: %s", failure ? failure : "");
  termauth_string_free(failure), failure = NULL;
  free(spec);
  remove_tree(dir);
}

/* ─────────────────────────── malformed input ─────────────────────────── */

static void test_malformed(void) {
  termauth_flow *flow = (termauth_flow *)0x1; /* must stay untouched on failure */
  termauth_error *err = NULL;
  const uint8_t bad_utf8[] = {'{', '"', 0xff, 0xfe, '"', '}'};

  CHECK(termauth_abi_version() == TERMAUTH_ABI_VERSION, "abi version");
  CHECK(strcmp(termauth_version(), "0.1.0") == 0, "version %s", termauth_version());

  CHECK(termauth_flow_new(bad_utf8, sizeof bad_utf8, NULL, &flow, &err) == TERMAUTH_STATUS_INVALID_UTF8, "bad utf8");
  CHECK(flow == (termauth_flow *)0x1, "out written on failure");
  CHECK(err && strcmp(termauth_error_code(err).data, "invalid_utf8") == 0, "invalid_utf8 code");
  termauth_error_free(err), err = NULL;

  CHECK(termauth_flow_new(NULL, 10, NULL, &flow, &err) == TERMAUTH_STATUS_NULL_ARGUMENT, "NULL spec");
  CHECK(err && strcmp(termauth_error_kind(err).data, "usage") == 0, "NULL spec kind");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_flow_new(S("{}"), NULL, NULL, NULL) == TERMAUTH_STATUS_NULL_ARGUMENT, "NULL out, NULL err");

  CHECK(termauth_flow_new(S("{not json"), NULL, &flow, &err) == TERMAUTH_STATUS_USAGE, "garbage spec");
  CHECK(err && strcmp(termauth_error_code(err).data, "invalid_flow_config") == 0, "garbage spec code");
  CHECK(err && termauth_error_message(err).len > 0 && termauth_error_json(err).data[0] == '{', "message and json");
  CHECK(err && termauth_error_oauth_error(err).data == NULL && termauth_error_status(err) == 0, "no oauth fields");
  termauth_error_free(err), err = NULL;
  CHECK(flow == (termauth_flow *)0x1, "out untouched");

  /* NULL-safe accessors and frees */
  termauth_flow_free(NULL);
  termauth_error_free(NULL);
  termauth_string_free(NULL);
  termauth_session_free(NULL);
  termauth_client_free(NULL);
  CHECK(termauth_error_code(NULL).data == NULL && termauth_error_status(NULL) == 0, "NULL error accessors");
  termauth_action a;
  CHECK(termauth_flow_poll(NULL, 1, &a) == TERMAUTH_STATUS_NULL_ARGUMENT, "poll NULL flow");
  CHECK(termauth_flow_handle_json(NULL, S("{\"type\":\"cancel\"}"), 1, NULL) == TERMAUTH_STATUS_NULL_ARGUMENT, "handle NULL");
  CHECK(termauth_flow_request_header_count(NULL) == 0, "header count NULL");

  /* a real flow, then bad inputs */
  const char *spec =
      "{\"flow\":\"client_credentials\",\"server\":{\"issuer\":\"https://as.example\",\"token_endpoint\":\"https://as.example/token\"},"
      "\"client\":{\"client_id\":\"ci\",\"auth\":{\"method\":\"client_secret_basic\",\"client_secret\":\"s\"}},\"scope\":\"api:read\"}";
  CHECK(termauth_flow_new(S(spec), NULL, &flow, &err) == TERMAUTH_STATUS_OK, "start");
  termauth_str v;
  CHECK(termauth_flow_action_json(flow, &v) == TERMAUTH_STATUS_USAGE, "action before poll");
  CHECK(termauth_flow_poll(flow, 1000, NULL) == TERMAUTH_STATUS_NULL_ARGUMENT, "poll NULL out");
  CHECK(termauth_flow_poll(flow, 1000, &a) == TERMAUTH_STATUS_OK && a.kind == TERMAUTH_ACTION_SEND_REQUEST && a.request_id > 0,
        "send_request");
  CHECK(termauth_flow_field(flow, TERMAUTH_FIELD_URL, &v) == TERMAUTH_STATUS_OK && strcmp(v.data, "https://as.example/token") == 0,
        "url field");
  CHECK(termauth_flow_field(flow, TERMAUTH_FIELD_USER_CODE, &v) == TERMAUTH_STATUS_OK && v.data == NULL, "absent field");
  CHECK(termauth_flow_field(flow, 9999, &v) == TERMAUTH_STATUS_OK && v.data == NULL, "unknown field");
  size_t nh = termauth_flow_request_header_count(flow);
  termauth_str hn, hv;
  CHECK(nh >= 2 && termauth_flow_request_header(flow, 0, &hn, &hv) == TERMAUTH_STATUS_OK && hn.len > 0, "header 0");
  CHECK(termauth_flow_request_header(flow, nh, &hn, &hv) == TERMAUTH_STATUS_USAGE, "header out of range");
  CHECK(termauth_flow_handle_json(flow, bad_utf8, sizeof bad_utf8, 1000, &err) == TERMAUTH_STATUS_INVALID_UTF8, "bad utf8 input");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_flow_handle_json(flow, S("[1,2"), 1000, &err) == TERMAUTH_STATUS_USAGE, "garbage input");
  CHECK(err && strcmp(termauth_error_code(err).data, "invalid_input") == 0, "invalid_input");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_flow_handle_json(flow, S("{\"type\":\"teleport\"}"), 1000, &err) == TERMAUTH_STATUS_USAGE, "unknown input type");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_flow_handle_response(flow, 777, 200, NULL, 0, NULL, 0, 1000, &err) == TERMAUTH_STATUS_USAGE, "unknown id");
  CHECK(err && strcmp(termauth_error_code(err).data, "unknown_request_id") == 0, "unknown_request_id");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_flow_handle_response(flow, a.request_id, 200, NULL, 5, NULL, 0, 1000, &err) == TERMAUTH_STATUS_NULL_ARGUMENT,
        "NULL headers with a length");
  termauth_error_free(err), err = NULL;
  /* non-UTF-8 body bytes are server data: decoded lossily, then judged by the core */
  const char hdrs[] = "Content-Type: application/json\r\nX-Odd\r\n";
  CHECK(termauth_flow_handle_response(flow, a.request_id, 200, S(hdrs), bad_utf8, sizeof bad_utf8, 1000, &err) ==
            TERMAUTH_STATUS_OK,
        "lossy body accepted");
  CHECK(termauth_flow_poll(flow, 1001, &a) == TERMAUTH_STATUS_OK && a.kind == TERMAUTH_ACTION_FAILED, "failed on garbage body");
  termauth_error *fe = NULL;
  CHECK(termauth_flow_failure(flow, &fe) == TERMAUTH_STATUS_OK && strcmp(termauth_error_kind(fe).data, "protocol") == 0,
        "failure is protocol");
  termauth_error_free(fe);
  CHECK(termauth_flow_poll(flow, 1002, &a) == TERMAUTH_STATUS_OK && a.kind == TERMAUTH_ACTION_FAILED, "failed is sticky");
  termauth_flow_free(flow);

  /* transport error kinds outside the enum are OTHER, not UB */
  CHECK(termauth_flow_new(S(spec), NULL, &flow, &err) == TERMAUTH_STATUS_OK, "start 2");
  termauth_flow_poll(flow, 1000, &a);
  CHECK(termauth_flow_handle_transport_error(flow, a.request_id, 4242, S("boom"), 1000, &err) == TERMAUTH_STATUS_OK,
        "transport error odd kind");
  termauth_flow_poll(flow, 1000, &a);
  CHECK(a.kind == TERMAUTH_ACTION_FAILED, "transport error fails a one-shot grant");
  CHECK(termauth_flow_cancel(flow, 1000, &err) == TERMAUTH_STATUS_OK, "cancel always accepted");
  termauth_flow_free(flow);

  /* JSON helpers */
  bool eq = true;
  CHECK(termauth_json_equal(S("{\"a\":1,\"b\":[1,2]}"), S("{\"b\":[1,2],\"a\":1}"), &eq, NULL) == TERMAUTH_STATUS_OK && eq,
        "member order ignored");
  CHECK(termauth_json_equal(S("[1,2]"), S("[2,1]"), &eq, NULL) == TERMAUTH_STATUS_OK && !eq, "array order kept");
  CHECK(termauth_json_equal(S("true"), S("1"), &eq, NULL) == TERMAUTH_STATUS_OK && !eq, "true != 1");
  CHECK(termauth_json_equal(S("{"), S("1"), &eq, &err) == TERMAUTH_STATUS_USAGE, "json_equal garbage");
  termauth_error_free(err), err = NULL;
  char *s = (char *)0x1;
  CHECK(termauth_json_get_string(S("{\"a\":1}"), S("/a"), &s, &err) == TERMAUTH_STATUS_USAGE && s == (char *)0x1, "not a string");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_json_get(S("{\"a\":1}"), S("/b"), &s, NULL) == TERMAUTH_STATUS_OK && s == NULL, "absent member is NULL");

  /* sessions, storage, errors, client: garbage in, error status out */
  test_malformed_session();
  termauth_client *client = NULL;
  CHECK(termauth_client_new(S("{\"app\":\"x\"}"), &client, &err) == TERMAUTH_STATUS_USAGE && client == NULL, "client config");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_client_new(S("{\"app\":\"x\",\"issuer\":\"https://as\",\"client_id\":\"c\",\"bogus\":1}"), &client, &err) ==
            TERMAUTH_STATUS_USAGE,
        "unknown config member");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_client_get_token(NULL, &s, &err) == TERMAUTH_STATUS_NULL_ARGUMENT, "get_token NULL client");
  termauth_error_free(err), err = NULL;

  /* random bytes into every parser: an error status, never a crash */
  uint32_t x = 12345;
  int all_refused = 1;
  for (int i = 0; i < 300; i++) {
    uint8_t buf[64];
    size_t n = (size_t)(i % 64);
    for (size_t j = 0; j < n; j++) buf[j] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
    if (i % 3 == 0 && n > 2) buf[0] = '{';
    termauth_flow *f = NULL;
    if (termauth_flow_new(buf, n, NULL, &f, &err) == TERMAUTH_STATUS_OK) all_refused = 0, termauth_flow_free(f);
    termauth_error_free(err), err = NULL;
    if (termauth_client_new(buf, n, &client, &err) == TERMAUTH_STATUS_OK) all_refused = 0, termauth_client_free(client);
    termauth_error_free(err), err = NULL;
    termauth_session *ses = NULL;
    if (termauth_session_new(buf, n, NULL, 1000, &ses, &err) == TERMAUTH_STATUS_OK) all_refused = 0, termauth_session_free(ses);
    termauth_error_free(err), err = NULL;
    char *d = NULL;
    if (termauth_storage_execute_json(buf, n, &d, &err) == TERMAUTH_STATUS_OK) all_refused = 0, termauth_string_free(d);
    termauth_error_free(err), err = NULL;
    termauth_error *made = NULL;
    if (termauth_error_from_json(buf, n, &made, &err) == TERMAUTH_STATUS_OK) all_refused = 0, termauth_error_free(made);
    termauth_error_free(err), err = NULL;
  }
  CHECK(all_refused, "random input refused everywhere");
}

/* ─────────────────────────── the real IdP ─────────────────────────── */

static const char *issuer;

static int approve_device(const char *user_code) {
  char url[512], body[256], err[256];
  snprintf(url, sizeof url, "%s/__test/device", issuer);
  snprintf(body, sizeof body, "{\"user_code\":\"%s\",\"action\":\"approve\"}", user_code);
  http_response r;
  if (http_request("POST", url, "Content-Type: application/json\r\n", body, strlen(body), &r, err, sizeof err) != 0) {
    fprintf(stderr, "approver: %s\n", err);
    return -1;
  }
  int ok = r.status == 200 && strstr(r.body, "\"ok\":true") != NULL;
  if (!ok) fprintf(stderr, "approver said %d %s\n", r.status, r.body);
  http_response_free(&r);
  return ok ? 0 : -1;
}

/* Drives a sans-IO flow to the end with the tiny HTTP client. Returns the DONE result JSON
 * (caller frees) or NULL; the persisted credential goes to *persisted (optional). */
static char *drive(termauth_flow *flow, char **persisted) {
  for (;;) {
    termauth_action a;
    if (termauth_flow_poll(flow, now_ms(), &a) != TERMAUTH_STATUS_OK) return NULL;
    termauth_str method, url, body, v;
    switch (a.kind) {
      case TERMAUTH_ACTION_SEND_REQUEST: {
        termauth_flow_field(flow, TERMAUTH_FIELD_METHOD, &method);
        termauth_flow_field(flow, TERMAUTH_FIELD_URL, &url);
        termauth_flow_field(flow, TERMAUTH_FIELD_BODY, &body);
        char headers[4096] = "";
        size_t used = 0;
        for (size_t i = 0; i < termauth_flow_request_header_count(flow); i++) {
          termauth_str n, hv;
          termauth_flow_request_header(flow, i, &n, &hv);
          used += (size_t)snprintf(headers + used, sizeof headers - used, "%s: %s\r\n", n.data, hv.data);
        }
        http_response r;
        char err[256];
        termauth_error *e = NULL;
        if (http_request(method.data, url.data, headers, body.data, body.len, &r, err, sizeof err) != 0) {
          termauth_flow_handle_transport_error(flow, a.request_id, TERMAUTH_TRANSPORT_CONNECT, S(err), now_ms(), &e);
        } else {
          termauth_flow_handle_response(flow, a.request_id, (uint16_t)r.status, S(r.headers), (const uint8_t *)r.body,
                                        r.body_len, now_ms(), &e);
          http_response_free(&r);
        }
        if (e) {
          fprintf(stderr, "handle refused: %s\n", termauth_error_message(e).data);
          termauth_error_free(e);
          return NULL;
        }
        break;
      }
      case TERMAUTH_ACTION_SHOW_USER_CODE:
        termauth_flow_field(flow, TERMAUTH_FIELD_USER_CODE, &v);
        if (approve_device(v.data) != 0) return NULL;
        break;
      case TERMAUTH_ACTION_PERSIST:
        termauth_flow_field(flow, TERMAUTH_FIELD_CREDENTIAL_JSON, &v);
        if (persisted) {
          termauth_string_free(*persisted);
          *persisted = jget(v.data, "");
        }
        break;
      case TERMAUTH_ACTION_WAIT_UNTIL: {
        uint64_t now = now_ms();
        if (a.at_ms > now) usleep((useconds_t)((a.at_ms - now) * 1000));
        break;
      }
      case TERMAUTH_ACTION_DONE:
        termauth_flow_field(flow, TERMAUTH_FIELD_RESULT_JSON, &v);
        return jget(v.data, "");
      case TERMAUTH_ACTION_FAILED:
        termauth_flow_field(flow, TERMAUTH_FIELD_ERROR_JSON, &v);
        fprintf(stderr, "flow failed: %s\n", v.data);
        return NULL;
      default:
        fprintf(stderr, "unexpected action %u\n", (unsigned)a.kind);
        return NULL;
    }
  }
}

static char *run_spec(const char *spec, char **persisted) {
  termauth_flow *flow = NULL;
  termauth_error *err = NULL;
  if (termauth_flow_new(S(spec), NULL, &flow, &err) != TERMAUTH_STATUS_OK) {
    fprintf(stderr, "flow_new: %s\n", termauth_error_message(err).data);
    termauth_error_free(err);
    return NULL;
  }
  char *result = drive(flow, persisted);
  termauth_flow_free(flow);
  return result;
}

static void test_sans_io_device(void) {
  char spec[8192];
  snprintf(spec, sizeof spec, "{\"flow\":\"discovery\",\"issuer\":\"%s\",\"allow_insecure_http\":true}", issuer);
  char *disc = run_spec(spec, NULL);
  CHECK(disc != NULL, "discovery against the IdP");
  if (!disc) return;
  char *meta = jget(disc, "/metadata");
  termauth_string_free(disc);

  /* device login: discovery → device → approve → tokens */
  snprintf(spec, sizeof spec,
           "{\"flow\":\"device\",\"server\":%s,\"client\":{\"client_id\":\"termauth-cli\"},"
           "\"scope\":\"openid offline_access\",\"allow_insecure_http\":true}",
           meta);
  char *cred = NULL;
  char *result = run_spec(spec, &cred);
  char *at = result ? jstr(result, "/tokens/access_token") : NULL;
  char *rt1 = cred ? jstr(cred, "/tokens/refresh_token") : NULL;
  CHECK(at && strlen(at) > 10, "device login gave an access token");
  CHECK(rt1 != NULL, "and a refresh token");
  termauth_string_free(result);
  termauth_string_free(at);

  /* refresh with rotation */
  snprintf(spec, sizeof spec,
           "{\"flow\":\"refresh\",\"server\":%s,\"client\":{\"client_id\":\"termauth-cli\"},\"credential\":%s,"
           "\"allow_insecure_http\":true}",
           meta, cred ? cred : "null");
  char *cred2 = NULL;
  result = run_spec(spec, &cred2);
  char *rt2 = cred2 ? jstr(cred2, "/tokens/refresh_token") : NULL;
  CHECK(result && rt2 && rt1 && strcmp(rt1, rt2) != 0, "refresh rotated the refresh token");
  termauth_string_free(result);
  /* the old refresh token is dead now: invalid_grant */
  termauth_flow *flow = NULL;
  termauth_error *err = NULL;
  CHECK(termauth_flow_new(S(spec), NULL, &flow, &err) == TERMAUTH_STATUS_OK, "refresh with the old token");
  char *none = drive(flow, NULL);
  termauth_error *fe = NULL;
  CHECK(!none && termauth_flow_failure(flow, &fe) == TERMAUTH_STATUS_OK && strcmp(termauth_error_code(fe).data, "invalid_grant") == 0 &&
            strcmp(termauth_error_hint(fe).data, "reauthenticate") == 0 && termauth_error_status(fe) == 400,
        "reused refresh token: invalid_grant");
  termauth_error_free(fe);
  termauth_flow_free(flow);

  /* revocation: refresh token first */
  char *rt2_json = cred2 ? jget(cred2, "/tokens/refresh_token") : NULL;
  snprintf(spec, sizeof spec,
           "{\"flow\":\"revocation\",\"server\":%s,\"client\":{\"client_id\":\"termauth-cli\"},"
           "\"tokens\":[{\"token\":%s,\"token_type_hint\":\"refresh_token\"}],\"allow_insecure_http\":true}",
           meta, rt2_json ? rt2_json : "\"x\"");
  result = run_spec(spec, NULL);
  CHECK(result && jeq(result, "{\"kind\":\"revoked\",\"count\":1}"), "revoked");
  termauth_string_free(result);
  termauth_string_free(rt2_json);
  termauth_string_free(rt1);
  termauth_string_free(rt2);
  termauth_string_free(cred);
  termauth_string_free(cred2);
  termauth_string_free(meta);
}

/* ─────────────────────── a C executor of the session ─────────────────────── */

/* "Name: value\r\n" lines → [["Name","value"],…] */
static void sb_headers(sbuf *b, const char *text) {
  sb_str(b, "[");
  int first = 1;
  const char *p = text;
  while (p && *p) {
    const char *eol = strstr(p, "\r\n");
    size_t n = eol ? (size_t)(eol - p) : strlen(p);
    const char *colon = memchr(p, ':', n);
    if (colon) {
      const char *v = colon + 1;
      while (v < p + n && *v == ' ') v++;
      if (!first) sb_str(b, ",");
      first = 0;
      sb_str(b, "[");
      sb_json(b, p, (size_t)(colon - p));
      sb_str(b, ",");
      sb_json(b, v, (size_t)(p + n - v));
      sb_str(b, "]");
    }
    p = eol ? eol + 2 : NULL;
  }
  sb_str(b, "]");
}

/* Performs a send_request action with the tiny HTTP client; the input JSON to hand back. */
static char *perform_request(const char *action) {
  char *id = jget(action, "/id"), *method = jstr(action, "/method"), *url = jstr(action, "/url"), *body = jstr(action, "/body");
  sbuf headers = {0};
  sb_str(&headers, "");
  for (int i = 0;; i++) {
    char pn[48], pv[48];
    snprintf(pn, sizeof pn, "/headers/%d/0", i);
    snprintf(pv, sizeof pv, "/headers/%d/1", i);
    char *n = jstr(action, pn), *v = jstr(action, pv);
    if (!n || !v) {
      termauth_string_free(n);
      termauth_string_free(v);
      break;
    }
    sb_str(&headers, n);
    sb_str(&headers, ": ");
    sb_str(&headers, v);
    sb_str(&headers, "\r\n");
    termauth_string_free(n);
    termauth_string_free(v);
  }
  http_response r;
  char err[256];
  sbuf in = {0};
  if (http_request(method, url, headers.p, body, body ? strlen(body) : 0, &r, err, sizeof err) != 0) {
    sb_str(&in, "{\"type\":\"transport_error\",\"id\":");
    sb_str(&in, id);
    sb_str(&in, ",\"kind\":\"connect\",\"message\":");
    sb_json(&in, err, strlen(err));
    sb_str(&in, "}");
  } else {
    char status[16];
    snprintf(status, sizeof status, "%d", r.status);
    sb_str(&in, "{\"type\":\"http_response\",\"id\":");
    sb_str(&in, id);
    sb_str(&in, ",\"status\":");
    sb_str(&in, status);
    sb_str(&in, ",\"headers\":");
    sb_headers(&in, r.headers);
    sb_str(&in, ",\"body\":");
    sb_json(&in, r.body, r.body_len);
    sb_str(&in, "}");
    http_response_free(&r);
  }
  free(headers.p);
  termauth_string_free(id);
  termauth_string_free(method);
  termauth_string_free(url);
  termauth_string_free(body);
  return in.p;
}

/* Runs one session against the IdP to its end: HTTP with the tiny client, device codes
 * approved through the test approver, waits slept; storage is the library's (advance).
 * Returns the done result (free it) or NULL with the error JSON in *failure. */
static char *run_session(const char *spec, char **failure, int *notices) {
  termauth_session *s = NULL;
  termauth_error *err = NULL;
  if (termauth_session_new(S(spec), NULL, now_ms(), &s, &err) != TERMAUTH_STATUS_OK) {
    fprintf(stderr, "session_new: %s\n", termauth_error_message(err).data);
    termauth_error_free(err);
    return NULL;
  }
  char *result = NULL;
  for (int steps = 0; steps < 500; steps++) {
    termauth_str view = {0};
    if (termauth_session_advance_json(s, now_ms(), &view, &err) != TERMAUTH_STATUS_OK) {
      fprintf(stderr, "advance: %s\n", termauth_error_message(err).data);
      termauth_error_free(err);
      break;
    }
    char *action = jget(view.data, ""); /* a copy: the view ends at the next call */
    char *type = jstr(action, "/type");
    char *input = NULL;
    int stop = 0;
    if (strcmp(type, "send_request") == 0) {
      input = perform_request(action);
    } else if (strcmp(type, "show_user_code") == 0) {
      char *code = jstr(action, "/user_code");
      if (!code || approve_device(code) != 0) stop = 1;
      termauth_string_free(code);
    } else if (strcmp(type, "launch_browser") == 0) {
      char *id = jget(action, "/id");
      sbuf b = {0};
      sb_str(&b, "{\"type\":\"browser_launched\",\"id\":");
      sb_str(&b, id);
      sb_str(&b, ",\"launched\":false}");
      input = b.p;
      termauth_string_free(id);
    } else if (strcmp(type, "wait_until") == 0) {
      char *at = jget(action, "/at_ms");
      uint64_t t = at ? strtoull(at, NULL, 10) : 0, now = now_ms();
      if (t > now) usleep((useconds_t)((t - now) * 1000));
      termauth_string_free(at);
    } else if (strcmp(type, "notice") == 0 || strcmp(type, "show_authorization_url") == 0) {
      if (notices) (*notices)++;
    } else if (strcmp(type, "done") == 0) {
      result = jget(action, "/result");
      stop = 1;
    } else if (strcmp(type, "failed") == 0) {
      if (failure) *failure = jget(action, "/error");
      stop = 1;
    } else {
      fprintf(stderr, "unexpected action: %s\n", action);
      stop = 1;
    }
    if (input) {
      if (termauth_session_handle_json(s, S(input), now_ms(), &err) != TERMAUTH_STATUS_OK) {
        fprintf(stderr, "handle refused: %s\n", termauth_error_message(err).data);
        termauth_error_free(err), err = NULL;
        stop = 1;
      }
      free(input);
    }
    termauth_string_free(type);
    termauth_string_free(action);
    if (stop) break;
  }
  termauth_session_free(s);
  return result;
}

/* A whole device login, get_token, a forced refresh, status and logout, each a session run
 * by the C executor above; the store is real files in a temp dir. */
static void test_session_device(void) {
  char dir[] = "/tmp/termauth-c-sdev-XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  const char *extra = ",\"scope\":\"openid offline_access\",\"store\":\"file\"";
  char *failure = NULL;
  char *spec = session_spec("{\"op\":\"login\",\"method\":\"device\"}", issuer, "termauth-cli", dir, extra);
  char *result = run_session(spec, &failure, NULL);
  CHECK(result && strstr(result, "\"method\":\"device\"") && strstr(result, "\"store\":\"file\""), "session device login: %s",
        result ? result : failure ? failure : "");
  /* who logged in: the ID token's subject (scope openid) */
  CHECK(result && strstr(result, "\"account\":\"alice\"") && strstr(result, "Logged in as alice (method: device"),
        "session device login names the account: %s", result ? result : "");
  termauth_string_free(result);
  termauth_string_free(failure), failure = NULL;
  free(spec);

  spec = session_spec("{\"op\":\"get_token\"}", issuer, "termauth-cli", dir, extra);
  result = run_session(spec, &failure, NULL);
  char *token1 = result ? jstr(result, "/token") : NULL;
  CHECK(token1 && strlen(token1) > 10, "session get_token");
  termauth_string_free(result);
  free(spec);

  spec = session_spec("{\"op\":\"refresh\"}", issuer, "termauth-cli", dir, extra);
  result = run_session(spec, &failure, NULL);
  char *token2 = result ? jstr(result, "/token") : NULL;
  char *text = result ? jstr(result, "/text") : NULL;
  CHECK(token2 && token1 && strcmp(token1, token2) != 0 && text && strlen(text) > 0, "session refresh renews and says so");
  termauth_string_free(text);
  termauth_string_free(token1);
  termauth_string_free(token2);
  termauth_string_free(result);
  free(spec);

  spec = session_spec("{\"op\":\"status\"}", issuer, "termauth-cli", dir, extra);
  result = run_session(spec, &failure, NULL);
  CHECK(result && strstr(result, "\"grant\":\"device_code\"") && strstr(result, "\"decision\":\"use\""), "session status %s",
        result ? result : "");
  termauth_string_free(result);
  free(spec);

  spec = session_spec("{\"op\":\"logout\"}", issuer, "termauth-cli", dir, extra);
  result = run_session(spec, &failure, NULL);
  CHECK(result && strstr(result, "\"revoked\":true") && strstr(result, "\"removed\":true"), "session logout revokes %s",
        result ? result : failure ? failure : "");
  termauth_string_free(result);
  termauth_string_free(failure), failure = NULL;
  free(spec);
  remove_tree(dir);
}

/* The batteries-included device login prints the code on stderr ("plain" UI). This thread
 * reads that stream (stderr redirected into a pipe), echoes it, and approves the code. */
struct watcher {
  int fd, echo_fd, approved;
};

static void *watch_stderr(void *arg) {
  struct watcher *w = arg;
  char buf[8192];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(w->fd, buf + len, sizeof buf - 1 - len);
    if (n <= 0) break;
    if (write(w->echo_fd, buf + len, (size_t)n) < 0) {
    }
    len += (size_t)n;
    buf[len] = 0;
    char *p = strstr(buf, "enter the code: ");
    if (!w->approved && p && strchr(p, '\n')) {
      char code[64] = {0};
      sscanf(p + 16, "%63s", code);
      w->approved = approve_device(code) == 0 ? 1 : -1;
    }
    if (len > sizeof buf - 512) len = 0;
  }
  return NULL;
}

static void test_client(void) {
  char dir[] = "/tmp/termauth-c-client-XXXXXX";
  mkdtemp(dir);
  char config[2048];
  termauth_client *c = NULL;
  termauth_error *err = NULL;
  char *report = NULL, *token = NULL, *status = NULL;

  /* client credentials (secret with : / +, form-encoded before base64) */
  snprintf(config, sizeof config,
           "{\"app\":\"ctest\",\"issuer\":\"%s\",\"client_id\":\"termauth-ci-basic\",\"client_secret\":\"s3cr3t:with/special+chars\","
           "\"scope\":\"api:read\",\"store\":\"file\",\"config_dir\":\"%s\",\"allow_insecure_http\":true,\"ui\":\"silent\"}",
           issuer, dir);
  CHECK(termauth_client_new(S(config), &c, &err) == TERMAUTH_STATUS_OK, "client_new");
  CHECK(termauth_client_login(c, TERMAUTH_LOGIN_CLIENT_CREDENTIALS, &report, &err) == TERMAUTH_STATUS_OK, "client credentials login %s",
        err ? termauth_error_message(err).data : "");
  CHECK(report && strstr(report, "\"method\":\"client_credentials\""), "login report %s", report ? report : "");
  termauth_string_free(report), report = NULL;
  CHECK(termauth_client_get_token(c, &token, &err) == TERMAUTH_STATUS_OK && token && strlen(token) > 10, "get_token");
  termauth_string_free(token), token = NULL;
  CHECK(termauth_client_status_json(c, &status, &err) == TERMAUTH_STATUS_OK && strstr(status, "\"source\":\"store\"") &&
            strstr(status, "\"decision\":\"use\""),
        "status %s", status ? status : "");
  termauth_string_free(status), status = NULL;
  CHECK(termauth_client_refresh(c, NULL, &err) == TERMAUTH_STATUS_OK, "reacquire");
  CHECK(termauth_client_logout(c, &report, &err) == TERMAUTH_STATUS_OK && strstr(report, "\"removed\":true"), "logout %s",
        report ? report : "");
  termauth_string_free(report), report = NULL;
  CHECK(termauth_client_get_token(c, &token, &err) == TERMAUTH_STATUS_STORAGE && token == NULL, "logged out");
  CHECK(err && strcmp(termauth_error_code(err).data, "not_logged_in") == 0 && strcmp(termauth_error_hint(err).data, "reauthenticate") == 0,
        "not_logged_in");
  termauth_error_free(err), err = NULL;
  termauth_client_free(c), c = NULL;

  /* a wrong secret: OAuth error with status */
  snprintf(config, sizeof config,
           "{\"app\":\"ctest\",\"issuer\":\"%s\",\"client_id\":\"termauth-ci-basic\",\"client_secret\":\"wrong\","
           "\"store\":\"file\",\"config_dir\":\"%s\",\"allow_insecure_http\":true,\"ui\":\"silent\"}",
           issuer, dir);
  termauth_client_new(S(config), &c, &err);
  CHECK(termauth_client_login(c, TERMAUTH_LOGIN_CLIENT_CREDENTIALS, &report, &err) == TERMAUTH_STATUS_OAUTH && report == NULL,
        "bad secret");
  CHECK(err && strcmp(termauth_error_code(err).data, "invalid_client") == 0 && termauth_error_status(err) == 401 &&
            strcmp(termauth_error_oauth_error(err).data, "invalid_client") == 0,
        "invalid_client 401");
  termauth_error_free(err), err = NULL;
  termauth_client_free(c), c = NULL;

  /* API key */
  snprintf(config, sizeof config,
           "{\"app\":\"ctest\",\"issuer\":\"%s\",\"client_id\":\"termauth-cli\",\"profile\":\"pat\",\"store\":\"file\","
           "\"config_dir\":\"%s\",\"allow_insecure_http\":true,\"ui\":\"silent\"}",
           issuer, dir);
  termauth_client_new(S(config), &c, &err);
  CHECK(termauth_client_login_token(c, S("pat-123"), NULL, 0, NULL, &err) == TERMAUTH_STATUS_OK, "token login");
  CHECK(termauth_client_get_token(c, &token, &err) == TERMAUTH_STATUS_OK && strcmp(token, "pat-123") == 0, "token back");
  termauth_string_free(token), token = NULL;
  CHECK(termauth_client_login_token(c, S("bad key"), NULL, 0, NULL, &err) == TERMAUTH_STATUS_USAGE, "whitespace in key refused");
  termauth_error_free(err), err = NULL;
  termauth_client_logout(c, NULL, NULL);
  termauth_client_free(c), c = NULL;

  /* device, batteries included: the plain UI prints the code; a thread approves it */
  snprintf(config, sizeof config,
           "{\"app\":\"ctest\",\"issuer\":\"%s\",\"client_id\":\"termauth-cli\",\"scope\":\"openid offline_access\","
           "\"store\":\"file\",\"config_dir\":\"%s\",\"allow_insecure_http\":true,\"ui\":\"plain\"}",
           issuer, dir);
  CHECK(termauth_client_new(S(config), &c, &err) == TERMAUTH_STATUS_OK, "device client");
  int p[2];
  CHECK(pipe(p) == 0, "pipe");
  fflush(stderr);
  int saved = dup(2);
  dup2(p[1], 2);
  close(p[1]);
  struct watcher w = {p[0], saved, 0};
  pthread_t t;
  pthread_create(&t, NULL, watch_stderr, &w);
  termauth_status st = termauth_client_login(c, TERMAUTH_LOGIN_DEVICE, &report, &err);
  fflush(stderr);
  dup2(saved, 2); /* closes the pipe's last write end: the thread sees EOF */
  pthread_join(t, NULL);
  close(saved);
  close(p[0]);
  CHECK(st == TERMAUTH_STATUS_OK && w.approved == 1, "device login (batteries) %s", err ? termauth_error_message(err).data : "");
  termauth_error_free(err), err = NULL;
  CHECK(report && strstr(report, "\"method\":\"device\""), "device report");
  termauth_string_free(report), report = NULL;
  char *renewed = NULL;
  CHECK(termauth_client_refresh(c, &renewed, &err) == TERMAUTH_STATUS_OK && renewed && strstr(renewed, "\"source\":\"store\"") &&
            strstr(renewed, "\"text\""),
        "refresh (batteries): %s", renewed ? "report" : "none");
  termauth_string_free(renewed);
  char *profiles = NULL;
  CHECK(termauth_client_profiles_json(c, &profiles, &err) == TERMAUTH_STATUS_OK && profiles && strstr(profiles, "\"active\":true"),
        "profiles (batteries)");
  termauth_string_free(profiles);
  CHECK(termauth_client_use_profile(c, S("nobody"), &err) == TERMAUTH_STATUS_USAGE && err &&
            strcmp(termauth_error_code(err).data, "unknown_profile") == 0,
        "use_profile of an unknown profile");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_client_get_token(c, &token, &err) == TERMAUTH_STATUS_OK, "get_token after refresh");
  termauth_string_free(token);
  CHECK(termauth_client_logout(c, &report, &err) == TERMAUTH_STATUS_OK && strstr(report, "\"revoked\":true"), "logout revokes %s",
        report ? report : "");
  termauth_string_free(report);
  termauth_client_free(c);
  remove_tree(dir);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s VECTOR_DIR [ISSUER]\n", argv[0]);
    return 2;
  }
  test_vectors(argv[1]);
  test_session_vectors(argv[1]);
  test_malformed();
  test_session_offline();
  issuer = argc > 2 ? argv[2] : NULL;
  if (issuer) {
    test_sans_io_device();
    test_session_device();
    test_client();
  } else {
    printf("no ISSUER given: the tests against the real IdP were skipped\n");
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
