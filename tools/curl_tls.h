/* What licgatectl's and licgate-agent's libcurl transfers agree a TLS failure is. */
#ifndef LICGATE_TOOLS_CURL_TLS_H
#define LICGATE_TOOLS_CURL_TLS_H

#include <stdbool.h>

/* Whether libcurl's result code means the TLS session could not be trusted or
 * set up (a certificate that does not verify, a handshake that failed, a CA
 * file that does not load): one list for every message and error code. */
bool curl_tls_failure(int curl_code);

#endif
