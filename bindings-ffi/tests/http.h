/* A tiny blocking HTTP/1.1 client over plain sockets, for the tests and the example CLI:
 * http:// only (the test IdP listens on 127.0.0.1), Connection: close, Content-Length or
 * chunked bodies. Not a general-purpose client: a real C program with TLS needs would use
 * the batteries-included termauth_client_* functions instead. */
#ifndef TERMAUTH_TEST_HTTP_H
#define TERMAUTH_TEST_HTTP_H

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  int status;
  char *headers; /* "Name: value\r\n" lines (without the status line), NUL-terminated */
  char *body;    /* NUL-terminated */
  size_t body_len;
} http_response;

static void http_response_free(http_response *r) {
  free(r->headers);
  free(r->body);
  r->headers = r->body = NULL;
}

/* Decodes a chunked body in place; returns the new length. */
static size_t http_dechunk(char *b, size_t n) {
  size_t in = 0, out = 0;
  while (in < n) {
    char *end;
    unsigned long size = strtoul(b + in, &end, 16);
    char *crlf = strstr(b + in, "\r\n");
    if (!crlf || end > crlf) break;
    in = (size_t)(crlf - b) + 2;
    if (size == 0 || in + size > n) break;
    memmove(b + out, b + in, size);
    out += size;
    in += size + 2;
  }
  b[out] = 0;
  return out;
}

/* Sends one request. `extra_headers`: "Name: value\r\n" lines or NULL. Returns 0 on success,
 * -1 on a transport error (message in `err`). */
static int http_request(const char *method, const char *url, const char *extra_headers, const char *body,
                        size_t body_len, http_response *resp, char *err, size_t err_len) {
  memset(resp, 0, sizeof *resp);
  if (strncmp(url, "http://", 7) != 0) {
    snprintf(err, err_len, "only http:// URLs are supported");
    return -1;
  }
  const char *hostport = url + 7;
  const char *path = strchr(hostport, '/');
  if (!path) path = "/";
  size_t hp_len = (size_t)(path - hostport);
  if (path == hostport || hp_len >= 256) {
    snprintf(err, err_len, "bad URL");
    return -1;
  }
  char host[256], port[16] = "80";
  memcpy(host, hostport, hp_len);
  host[hp_len] = 0;
  char *colon = strrchr(host, ':');
  if (colon) {
    snprintf(port, sizeof port, "%s", colon + 1);
    *colon = 0;
  }
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
    snprintf(err, err_len, "cannot resolve %s", host);
    return -1;
  }
  int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    snprintf(err, err_len, "cannot connect to %s:%s", host, port);
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  size_t head_cap = 1024 + strlen(url) + (extra_headers ? strlen(extra_headers) : 0);
  char *head = malloc(head_cap);
  int head_len = snprintf(head, head_cap,
                          "%s %s HTTP/1.1\r\nHost: %.*s\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n",
                          method, path, (int)hp_len, hostport, body_len, extra_headers ? extra_headers : "");
  int ok = send(fd, head, (size_t)head_len, 0) == head_len && (body_len == 0 || send(fd, body, body_len, 0) == (ssize_t)body_len);
  free(head);
  if (!ok) {
    snprintf(err, err_len, "send failed");
    close(fd);
    return -1;
  }
  size_t cap = 8192, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (cap - len < 4096) buf = realloc(buf, cap *= 2);
    ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
    if (n < 0) {
      snprintf(err, err_len, "recv failed");
      free(buf);
      close(fd);
      return -1;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = 0;
  char *sep = strstr(buf, "\r\n\r\n");
  if (!sep || strncmp(buf, "HTTP/1.", 7) != 0) {
    snprintf(err, err_len, "malformed HTTP response");
    free(buf);
    return -1;
  }
  resp->status = atoi(buf + 9);
  char *first_eol = strstr(buf, "\r\n");
  size_t hlen = (size_t)(sep - first_eol);
  resp->headers = malloc(hlen + 1);
  memcpy(resp->headers, first_eol + 2, hlen > 2 ? hlen - 2 : 0);
  resp->headers[hlen > 2 ? hlen - 2 : 0] = 0;
  size_t blen = len - (size_t)(sep + 4 - buf);
  resp->body = malloc(blen + 1);
  memcpy(resp->body, sep + 4, blen);
  resp->body[blen] = 0;
  resp->body_len = blen;
  /* chunked? (case-insensitive header search) */
  for (char *p = resp->headers; *p; p++) {
    if (strncasecmp(p, "transfer-encoding:", 18) == 0) {
      const char *v = p + 18;
      while (*v == ' ') v++;
      if (strncasecmp(v, "chunked", 7) == 0) resp->body_len = http_dechunk(resp->body, blen);
      break;
    }
  }
  free(buf);
  return 0;
}

#endif
