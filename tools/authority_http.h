/* `licgate-authority serve`: the activation API v1 (docs/activation-api.md)
 * over HTTPS with libmicrohttpd (a thread per connection, TLS from PEM files
 * loaded into memory). Request bodies are capped at ACTIVATION_BODY_MAX: a
 * larger Content-Length is answered 413 before any of the body is read, a
 * chunked body that grows past it is discarded and answered 413. Ledger
 * access is serialized; every write is one transaction. */
#ifndef LICGATE_TOOLS_AUTHORITY_HTTP_H
#define LICGATE_TOOLS_AUTHORITY_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "authority_ledger.h"

struct serve_config {
    const char *listen; /* "ADDR:PORT" or "[V6ADDR]:PORT", numeric */
    const char *cert_path, *key_path;
    struct ledger *ledger;
    const uint8_t *issuer_priv; /* 32 bytes */
};

/* Serves until SIGINT or SIGTERM. Logs one line per decision on stderr.
 * Returns 0 after a clean stop, or -errno with a reason in err when it
 * cannot start (bad address, unreadable certificate, port in use). */
int authority_serve(const struct serve_config *cfg, char *err, size_t errlen);

#endif
