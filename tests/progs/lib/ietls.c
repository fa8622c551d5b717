/* libietls.so: a library with initial-exec TLS, which tls_dlopen loads
 * with dlopen once threads exist. glibc gives such a module a place in
 * every thread's static TLS block and copies its initial values into the
 * threads it knows, before the constructor runs (in the thread that
 * called dlopen). */
#define IE __attribute__((tls_model("initial-exec")))

static IE __thread int ie_var = 42; /* an initial value */
static IE __thread int ie_zero;     /* .tbss: zero in every thread */
static IE __thread int ie_ctor;     /* set by the constructor */

__attribute__((constructor)) static void init(void) { ie_ctor = ie_var + 1; }

int ie_get(void) { return ie_var; }
void ie_set(int v) { ie_var = v; }
int ie_zero_get(void) { return ie_zero; }
int ie_ctor_get(void) { return ie_ctor; }
