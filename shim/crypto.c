#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#define PEM_FILE_MAX (16 * 1024)

int crypto_random(void *buf, size_t len)
{
    if (len > INT_MAX || RAND_bytes(buf, (int)len) != 1)
        return -EIO;
    return 0;
}

void crypto_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}

int crypto_ed25519_public_from_private(const uint8_t priv[32], uint8_t pub[32])
{
    EVP_PKEY *pkey = NULL;
    size_t publen = 32;
    int ret = -EIO;

    memset(pub, 0, 32);
    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, 32);
    if (pkey == NULL)
        goto out;
    if (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 || publen != 32) {
        memset(pub, 0, 32);
        goto out;
    }
    ret = 0;
out:
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return ret;
}

int crypto_ed25519_keygen(uint8_t priv[32], uint8_t pub[32])
{
    EVP_PKEY *pkey = NULL;
    size_t privlen = 32, publen = 32;
    int ret = -EIO;

    memset(priv, 0, 32);
    memset(pub, 0, 32);
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (pkey == NULL)
        goto out;
    if (EVP_PKEY_get_raw_private_key(pkey, priv, &privlen) != 1 || privlen != 32)
        goto out;
    if (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 || publen != 32)
        goto out;
    ret = 0;
out:
    if (ret != 0) {
        crypto_wipe(priv, 32);
        memset(pub, 0, 32);
    }
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return ret;
}

int crypto_ed25519_sign(const uint8_t priv[32], const void *msg, size_t len, uint8_t sig[64])
{
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *ctx = NULL;
    size_t siglen = 64;
    int ret = -EIO;

    memset(sig, 0, 64);
    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, 32);
    if (pkey == NULL)
        goto out;
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1)
        goto out;
    if (EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != 64) {
        memset(sig, 0, 64);
        goto out;
    }
    ret = 0;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return ret;
}

int crypto_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len, const uint8_t sig[64])
{
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *ctx = NULL;
    int rc;
    int ret = -EIO;

    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    if (pkey == NULL) {
        /* A point that does not decode cannot have made any signature. */
        ret = -EBADMSG;
        goto out;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
        goto out;
    rc = EVP_DigestVerify(ctx, sig, 64, msg, len);
    if (rc == 1)
        ret = 0;
    else if (rc == 0)
        ret = -EBADMSG;
    else
        ret = -EIO;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return ret;
}

int crypto_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int outlen = 0;

    memset(out, 0, 32);
    if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1 || outlen != 32) {
        memset(out, 0, 32);
        ERR_clear_error();
        return -EIO;
    }
    return 0;
}

int crypto_base64_encode(const uint8_t *in, size_t len, char *out, size_t outsize)
{
    if (outsize > 0)
        out[0] = '\0';
    if (len > (size_t)INT_MAX / 4 * 3 - 3)
        return -EOVERFLOW;
    if (outsize < CRYPTO_BASE64_LEN(len) + 1)
        return -ENOSPC;
    if (EVP_EncodeBlock((unsigned char *)out, in, (int)len) != (int)CRYPTO_BASE64_LEN(len)) {
        out[0] = '\0';
        return -EIO;
    }
    return 0;
}

int crypto_base64_decode_exact(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
    uint8_t *decoded = NULL;
    char *reencoded = NULL;
    size_t decoded_cap;
    int ret = -EBADMSG;

    memset(out, 0, outlen);
    if (outlen == 0 || outlen > (size_t)INT_MAX / 4 || inlen != CRYPTO_BASE64_LEN(outlen))
        goto out;
    decoded_cap = inlen / 4 * 3;
    decoded = malloc(decoded_cap);
    reencoded = malloc(inlen + 1);
    if (decoded == NULL || reencoded == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    /* EVP_DecodeBlock tolerates surrounding whitespace and ignores the
     * padding's spare bits; re-encoding and comparing rejects every variant. */
    if (EVP_DecodeBlock(decoded, (const unsigned char *)in, (int)inlen) != (int)decoded_cap)
        goto out;
    if (EVP_EncodeBlock((unsigned char *)reencoded, decoded, (int)outlen) != (int)inlen)
        goto out;
    if (memcmp(reencoded, in, inlen) != 0)
        goto out;
    memcpy(out, decoded, outlen);
    ret = 0;
out:
    if (decoded != NULL)
        crypto_wipe(decoded, decoded_cap);
    free(decoded);
    free(reencoded);
    ERR_clear_error();
    return ret;
}

/* Reads a whole small PEM file into a secure-heap memory BIO. */
static int pem_file_read(const char *path, BIO **out)
{
    struct stat st;
    char chunk[1024];
    BIO *bio = NULL;
    size_t total = 0;
    ssize_t n;
    int fd = -1;
    int ret;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        ret = -errno;
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        ret = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        goto out;
    }
    bio = BIO_new(BIO_s_secmem());
    if (bio == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            goto out;
        }
        if (n == 0)
            break;
        if (PEM_FILE_MAX - total < (size_t)n) {
            ret = -EFBIG;
            goto out;
        }
        total += (size_t)n;
        if (BIO_write(bio, chunk, (int)n) != (int)n) {
            ret = -ENOMEM;
            goto out;
        }
    }
    *out = bio;
    bio = NULL;
    ret = 0;
out:
    crypto_wipe(chunk, sizeof(chunk));
    BIO_free(bio);
    if (fd >= 0)
        close(fd);
    return ret;
}

/* Writes the contents of bio to path, created with mode. */
static int pem_file_write(const char *path, BIO *bio, mode_t mode)
{
    char *data = NULL;
    long datalen;
    size_t done = 0;
    ssize_t n;
    int fd = -1;
    int ret;

    datalen = BIO_get_mem_data(bio, &data);
    if (datalen <= 0 || data == NULL)
        return -EIO;
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
    if (fd < 0)
        return -errno;
    /* An existing file keeps its old mode through O_TRUNC. */
    if (fchmod(fd, mode) != 0) {
        ret = -errno;
        goto out;
    }
    while (done < (size_t)datalen) {
        n = write(fd, data + done, (size_t)datalen - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = -errno;
            goto out;
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0) {
        ret = -errno;
        goto out;
    }
    ret = 0;
out:
    if (close(fd) != 0 && ret == 0)
        ret = -errno;
    return ret;
}

int crypto_ed25519_read_private_pem(const char *path, uint8_t priv[32])
{
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    size_t privlen = 32;
    int ret;

    memset(priv, 0, 32);
    ret = pem_file_read(path, &bio);
    if (ret != 0)
        goto out;
    ret = -EBADMSG;
    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (pkey == NULL || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
        goto out;
    if (EVP_PKEY_get_raw_private_key(pkey, priv, &privlen) != 1 || privlen != 32) {
        crypto_wipe(priv, 32);
        goto out;
    }
    ret = 0;
out:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    ERR_clear_error();
    return ret;
}

int crypto_ed25519_read_public_pem(const char *path, uint8_t pub[32])
{
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    size_t publen = 32;
    int ret;

    memset(pub, 0, 32);
    ret = pem_file_read(path, &bio);
    if (ret != 0)
        goto out;
    ret = -EBADMSG;
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (pkey == NULL || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
        goto out;
    if (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 || publen != 32) {
        memset(pub, 0, 32);
        goto out;
    }
    ret = 0;
out:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    ERR_clear_error();
    return ret;
}

int crypto_ed25519_write_private_pem(const char *path, const uint8_t priv[32])
{
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    int ret = -EIO;

    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, 32);
    if (pkey == NULL)
        goto out;
    bio = BIO_new(BIO_s_secmem());
    if (bio == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
        goto out;
    ret = pem_file_write(path, bio, 0600);
out:
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return ret;
}

int crypto_ed25519_write_public_pem(const char *path, const uint8_t pub[32])
{
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    int ret = -EIO;

    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    if (pkey == NULL)
        goto out;
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    if (PEM_write_bio_PUBKEY(bio, pkey) != 1)
        goto out;
    ret = pem_file_write(path, bio, 0644);
out:
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return ret;
}
