// The one call into a private member of httplib: GatedHttpServer overrides httplib::Server's private virtual
// process_and_close_socket (the only place httplib 0.11 hands out a connection's socket) and, once its gate
// has passed, lets httplib's own implementation serve the connection. Naming that private member needs this
// file to be compiled with -fno-access-control (src/server/CMakeLists.txt); nothing else is.
#include <httplib.h>

namespace hotrod::server {

bool httplib_process_and_close_socket(httplib::Server& server, socket_t sock) {
    return server.httplib::Server::process_and_close_socket(sock);  // qualified: not the override again
}

}  // namespace hotrod::server
