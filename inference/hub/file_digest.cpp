#include "inference/hub/file_digest.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

#include "inference/hub/http_fetch.h"

namespace maskfill::hub {
namespace {

using Context = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string hex(const unsigned char* bytes, unsigned length) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < length; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

// Digest of `prefix` followed by the file's bytes, read in 1 MiB chunks (shards are GBs).
std::string digest_file(const std::string& path, const EVP_MD* algorithm, const std::string& prefix) {
  Context context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), algorithm, nullptr) != 1)
    throw std::runtime_error("cannot start a digest (OpenSSL)");
  EVP_DigestUpdate(context.get(), prefix.data(), prefix.size());
  std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!file) throw DiskError("cannot read " + path + ": " + std::strerror(errno));
  std::vector<unsigned char> buffer(1 << 20);
  size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0)
    EVP_DigestUpdate(context.get(), buffer.data(), got);
  if (std::ferror(file.get())) throw DiskError("cannot read " + path + ": " + std::strerror(errno));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_DigestFinal_ex(context.get(), digest, &length);
  return hex(digest, length);
}

}  // namespace

std::string file_sha256(const std::string& path) { return digest_file(path, EVP_sha256(), ""); }

std::string file_git_blob_sha1(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) throw DiskError("cannot read " + path + ": " + ec.message());
  return digest_file(path, EVP_sha1(), "blob " + std::to_string(size) + std::string(1, '\0'));
}

}  // namespace maskfill::hub
