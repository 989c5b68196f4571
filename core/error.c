/* Messages and names for the GV_E* error table declared in error.h. */
#include "core/error.h"

const char *gv_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define GV_ERR_MSG(name, msg)                                                  \
    case GV_##name:                                                            \
        return msg;
        GV_ERRNO_MAP(GV_ERR_MSG)
#undef GV_ERR_MSG
    default:
        return "unknown error";
    }
}

const char *gv_errname(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define GV_ERR_NAME(name, msg)                                                 \
    case GV_##name:                                                            \
        return #name;
        GV_ERRNO_MAP(GV_ERR_NAME)
#undef GV_ERR_NAME
    default:
        return "EUNKNOWN";
    }
}
