/* gavel's single error-code table. Functions return 0 or a negative GV_E* code; gv_strerror()
 * turns a code into a message. Library errors (AVERROR, libsrt, errno) are translated where
 * they are met, never passed through raw. */
#ifndef GV_ERROR_H
#define GV_ERROR_H

#define GV_ERRNO_MAP(X)                                                        \
    X(EINVAL, "invalid argument")                                              \
    X(ENOMEM, "out of memory")                                                 \
    X(EAGAIN, "not ready yet, try again")                                      \
    X(ENOENT, "not found")                                                     \
    X(EEXIST, "already exists")                                                \
    X(EBUSY, "resource busy")                                                  \
    X(EPROTO, "protocol violation")                                            \
    X(ETRUNC, "input truncated")                                               \
    X(ETOOBIG, "size limit exceeded")                                          \
    X(EUNSUPP, "unsupported feature")                                          \
    X(EAUTH, "not authorized")                                                 \
    X(ECONFIG, "configuration error")                                          \
    X(EIO, "input/output error")                                               \
    X(ETIMEDOUT, "timed out")                                                  \
    X(ECLOSED, "connection closed")                                            \
    X(ELIMIT, "limit reached")                                                 \
    X(ECODEC, "codec error")

enum {
    GV_OK = 0,
#define GV_ERR_ENUM(name, msg) GV_##name,
    GV_ERR_FIRST_ = -1000,
    GV_ERRNO_MAP(GV_ERR_ENUM)
#undef GV_ERR_ENUM
    GV_ERR_LAST_
};

/* Human-readable message for a GV_E* code (or "success" for 0). Never returns NULL. */
const char *gv_strerror(int err);

/* Short symbolic name ("EPROTO") for a GV_E* code, for logs and JSON. */
const char *gv_errname(int err);

#endif
