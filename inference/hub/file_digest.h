// Digests the hub publishes for each file, computed over a file on disk (OpenSSL EVP):
// sha256 for LFS files (the tree's lfs.oid, the X-Linked-Etag header) and the git blob id
// (sha1 of "blob <size>\0" + content) for the others (the tree's oid).
#pragma once

#include <string>

namespace maskfill::hub {

// Lower-case hex. Throws DiskError naming the file when it cannot be read.
std::string file_sha256(const std::string& path);
std::string file_git_blob_sha1(const std::string& path);

}  // namespace maskfill::hub
