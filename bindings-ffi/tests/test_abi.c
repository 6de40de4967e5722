/* C tests of libtermauth: every conversation vector replayed through the ABI, malformed
 * input, and logins against the real IdP (sans-IO device flow driven by a tiny C HTTP
 * client; batteries-included client: client credentials, device, API key), with refresh
 * rotation, revocation and the stores. Run under valgrind by bindings-ffi/test.sh.
 *
 *   test_abi VECTOR_DIR [ISSUER]      (ISSUER: the test IdP; without it the IdP tests are skipped)
 *
 * Prints one line per failure and a final summary "N passed, M failed". */
#define _GNU_SOURCE
#include <dirent.h>
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
  termauth_store_free(NULL);
  termauth_client_free(NULL);
  termauth_lock_free(NULL);
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

  /* stores, lifecycle, client: garbage in, error status out */
  termauth_store *store = NULL;
  CHECK(termauth_store_new(S(""), NULL, 0, TERMAUTH_STORE_FILE, &store, &err) == TERMAUTH_STATUS_USAGE, "empty app");
  termauth_error_free(err), err = NULL;
  char dir[] = "/tmp/termauth-c-XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  CHECK(termauth_store_new(S("ctest"), S(dir), 77, &store, &err) == TERMAUTH_STATUS_OK, "store (odd preference = auto)");
  termauth_store_free(store);
  CHECK(termauth_store_new(S("ctest"), S(dir), TERMAUTH_STORE_FILE, &store, &err) == TERMAUTH_STATUS_OK, "store");
  CHECK(termauth_store_save(store, S("https://as"), S("cli"), NULL, 0, S("{\"schema_version\":1"), NULL, &err) ==
            TERMAUTH_STATUS_STORAGE,
        "corrupt record refused");
  CHECK(err && strcmp(termauth_error_code(err).data, "credential_corrupt") == 0, "credential_corrupt");
  termauth_error_free(err), err = NULL;
  CHECK(termauth_store_save(store, S("https://as"), S("cli"), S("../evil"), S("{}"), NULL, &err) == TERMAUTH_STATUS_USAGE,
        "bad profile refused");
  termauth_error_free(err), err = NULL;
  char *cred = (char *)0x1;
  CHECK(termauth_store_load(store, S("https://as"), S("cli"), NULL, 0, &cred, NULL, &err) == TERMAUTH_STATUS_OK && cred == NULL,
        "nothing stored");
  termauth_store_free(store);
  char *d = NULL;
  CHECK(termauth_lifecycle_decide(S("nope"), 0, 0, &d, &err) == TERMAUTH_STATUS_STORAGE && d == NULL, "decide garbage");
  termauth_error_free(err), err = NULL;
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
    if (termauth_lifecycle_decide(buf, n, 0, 0, &d, &err) == TERMAUTH_STATUS_OK) all_refused = 0, termauth_string_free(d);
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

  /* store it (file store, temp dir), read it back, decide */
  char dir[] = "/tmp/termauth-c-store-XXXXXX";
  mkdtemp(dir);
  termauth_store *store = NULL;
  termauth_error *err = NULL;
  CHECK(termauth_store_new(S("ctest"), S(dir), TERMAUTH_STORE_FILE, &store, &err) == TERMAUTH_STATUS_OK, "store");
  char *where = NULL;
  CHECK(cred && termauth_store_save(store, S(issuer), S("termauth-cli"), S("work"), S(cred), &where, &err) == TERMAUTH_STATUS_OK,
        "save");
  CHECK(where && strstr(where, "\"file\""), "saved to file: %s", where ? where : "");
  termauth_string_free(where);
  termauth_lock *lock = NULL;
  CHECK(termauth_store_lock(store, S(issuer), S("termauth-cli"), S("work"), &lock, &err) == TERMAUTH_STATUS_OK, "lock");
  termauth_lock_free(lock);
  char *loaded = NULL, *choice = NULL;
  CHECK(termauth_store_load(store, S(issuer), S("termauth-cli"), S("work"), &loaded, &choice, &err) == TERMAUTH_STATUS_OK &&
            loaded && jeq(loaded, cred),
        "load gives the saved record");
  termauth_string_free(choice);
  char *decision = NULL;
  CHECK(loaded && termauth_lifecycle_decide(S(loaded), now_ms(), 0, &decision, &err) == TERMAUTH_STATUS_OK &&
            jeq(decision, "{\"decision\":\"use\"}"),
        "decide: use (%s)", decision ? decision : "");
  termauth_string_free(decision);
  decision = NULL;
  CHECK(loaded && termauth_lifecycle_decide(S(loaded), now_ms() + 7200000, 0, &decision, &err) == TERMAUTH_STATUS_OK &&
            strstr(decision, "\"refresh\""),
        "decide: refresh after expiry");
  termauth_string_free(decision);
  decision = NULL;
  CHECK(loaded && termauth_lifecycle_decide_locked(S(loaded), S(loaded), now_ms(), 0, true, &decision, &err) ==
                      TERMAUTH_STATUS_OK && strstr(decision, "\"refresh\""),
        "decide_locked: a forced renewal of an unchanged record refreshes");
  termauth_string_free(decision);
  bool renewed = true;
  CHECK(loaded && termauth_lifecycle_renewed_elsewhere(S(loaded), S(loaded), now_ms(), &renewed, &err) ==
                      TERMAUTH_STATUS_OK && !renewed,
        "renewed_elsewhere: an unchanged record was not renewed elsewhere");

  /* refresh with rotation */
  snprintf(spec, sizeof spec,
           "{\"flow\":\"refresh\",\"server\":%s,\"client\":{\"client_id\":\"termauth-cli\"},\"credential\":%s,"
           "\"allow_insecure_http\":true}",
           meta, loaded ? loaded : "null");
  char *cred2 = NULL;
  result = run_spec(spec, &cred2);
  char *rt2 = cred2 ? jstr(cred2, "/tokens/refresh_token") : NULL;
  CHECK(result && rt2 && rt1 && strcmp(rt1, rt2) != 0, "refresh rotated the refresh token");
  termauth_string_free(result);
  /* the old refresh token is dead now: invalid_grant */
  termauth_flow *flow = NULL;
  CHECK(termauth_flow_new(S(spec), NULL, &flow, &err) == TERMAUTH_STATUS_OK, "refresh with the old token");
  char *none = drive(flow, NULL);
  termauth_error *fe = NULL;
  CHECK(!none && termauth_flow_failure(flow, &fe) == TERMAUTH_STATUS_OK && strcmp(termauth_error_code(fe).data, "invalid_grant") == 0 &&
            strcmp(termauth_error_hint(fe).data, "reauthenticate") == 0 && termauth_error_status(fe) == 400,
        "reused refresh token: invalid_grant");
  if (fe) {
    char *after = NULL;
    termauth_str ej = termauth_error_json(fe);
    CHECK(loaded && termauth_lifecycle_after_renewal_failure(S(loaded), (const uint8_t *)ej.data, ej.len, now_ms(), &after, &err) ==
                        TERMAUTH_STATUS_OK &&
              jeq(after, "{\"decision\":\"use\"}"),
          "after_renewal_failure keeps serving an unexpired token");
    termauth_string_free(after);
  }
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
  bool removed = false;
  CHECK(termauth_store_delete(store, S(issuer), S("termauth-cli"), S("work"), &removed, &err) == TERMAUTH_STATUS_OK && removed,
        "delete");
  termauth_store_free(store);
  termauth_string_free(rt2_json);
  termauth_string_free(rt1);
  termauth_string_free(rt2);
  termauth_string_free(cred);
  termauth_string_free(cred2);
  termauth_string_free(loaded);
  termauth_string_free(meta);
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
  char *cred = NULL;
  CHECK(termauth_client_refresh(c, &cred, &err) == TERMAUTH_STATUS_OK && cred, "refresh (batteries)");
  termauth_string_free(cred);
  CHECK(termauth_client_get_token(c, &token, &err) == TERMAUTH_STATUS_OK, "get_token after refresh");
  termauth_string_free(token);
  CHECK(termauth_client_logout(c, &report, &err) == TERMAUTH_STATUS_OK && strstr(report, "\"revoked\":true"), "logout revokes %s",
        report ? report : "");
  termauth_string_free(report);
  termauth_client_free(c);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s VECTOR_DIR [ISSUER]\n", argv[0]);
    return 2;
  }
  test_vectors(argv[1]);
  test_malformed();
  issuer = argc > 2 ? argv[2] : NULL;
  if (issuer) {
    test_sans_io_device();
    test_client();
  } else {
    printf("no ISSUER given: the tests against the real IdP were skipped\n");
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
