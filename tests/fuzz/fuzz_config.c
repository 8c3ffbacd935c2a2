/* libFuzzer target for config_parse_text: the input is a config file's text. On failure the
 * config is unchanged and the reason is a non-empty string; on success every string field is
 * terminated within its array and the control socket path resolves or says it is too long. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gate_config cfg, before;
    char err[512], sock[CONFIG_SOCKET_MAX + 1];
    char *text;
    int r;

    if (size > CONFIG_FILE_MAX)
        return 0;
    text = malloc(size > 0 ? size : 1); /* exact size, so ASan sees any overread */
    if (text == NULL)
        abort();
    memcpy(text, data, size);
    config_defaults(&cfg);
    before = cfg;
    err[0] = '\0';
    r = config_parse_text(text, size, "fuzz.conf", &cfg, err, sizeof(err));
    if (r != 0) {
        if (r > 0 || err[0] == '\0' || !TERMINATED(err) || memcmp(&cfg, &before, sizeof(cfg)) != 0)
            abort();
    } else {
        if (!TERMINATED(cfg.license_dir) || !TERMINATED(cfg.pool) || !TERMINATED(cfg.user) ||
            !TERMINATED(cfg.group) || !TERMINATED(cfg.control_socket) ||
            !TERMINATED(cfg.control_group))
            abort();
        r = config_control_socket(&cfg, sock, sizeof(sock));
        if (r != 0 && r != -ENAMETOOLONG)
            abort();
    }
    free(text);
    return 0;
}
