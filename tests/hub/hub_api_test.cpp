// The API's JSON and the messages for the hub's refusals.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "inference/hub/file_digest.h"
#include "inference/hub/hub_api.h"

using namespace maskfill::hub;

TEST_CASE("revision info: commit and file list") {
  RevisionInfo info = parse_revision_info(
      R"({"id":"a/b","sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"config.json"},{"rfilename":"model.safetensors"}]})",
      "test");
  CHECK(info.commit == "0123456789abcdef0123456789abcdef01234567");
  CHECK(info.filenames == std::vector<std::string>{"config.json", "model.safetensors"});
  CHECK_THROWS_WITH(parse_revision_info(R"({"siblings":[]})", "URL"), Catch::Contains("no commit sha"));
  CHECK_THROWS_WITH(parse_revision_info("<html>", "URL"), Catch::Contains("is not JSON"));
}

TEST_CASE("tree page: files with sizes, git ids and LFS sha256, folders skipped") {
  auto files = parse_tree_page(R"([
    {"type":"directory","oid":"1111111111111111111111111111111111111111","size":0,"path":"plots"},
    {"type":"file","oid":"2222222222222222222222222222222222222222","size":626,"path":"config.json"},
    {"type":"file","oid":"3333333333333333333333333333333333333333","size":16475912,"path":"model.safetensors",
     "lfs":{"oid":"e35da710449e0f0417062134e7dfff37c516cffcd72022324666f38c75721d04","size":16475912,"pointerSize":134}}
  ])", "test");
  REQUIRE(files.size() == 2);
  CHECK(files[0].blob_name() == "2222222222222222222222222222222222222222");
  CHECK(files[1].size == 16475912);
  CHECK(files[1].blob_name() == "e35da710449e0f0417062134e7dfff37c516cffcd72022324666f38c75721d04");
  CHECK_THROWS_WITH(parse_tree_page(R"([{"type":"file","oid":"2222222222222222222222222222222222222222","size":1,"path":"../x"}])", "t"),
                    Catch::Contains("unsafe path"));
  CHECK_THROWS_WITH(parse_tree_page(R"([{"type":"file","path":"x"}])", "t"), Catch::Contains("lacks the size or id of 'x'"));
}

namespace {
HttpResponse refusal(long status, std::string code = {}) {
  HttpResponse response;
  response.status = status;
  if (!code.empty()) response.headers["x-error-code"] = code;
  return response;
}
std::string message_of(const HttpResponse& response, bool has_token) {
  try {
    throw_http_error(response, "org/model", "main", "the file list", has_token);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return {};
}
}  // namespace

TEST_CASE("refusals say what to do") {
  CHECK_THAT(message_of(refusal(401), false), Catch::Contains("set HF_TOKEN"));
  CHECK_THAT(message_of(refusal(401), true), Catch::Contains("refused the token in HF_TOKEN"));
  CHECK_THAT(message_of(refusal(403, "GatedRepo"), false), Catch::Contains("gated"));
  CHECK_THAT(message_of(refusal(404, "RevisionNotFound"), false), Catch::Contains("revision 'main' not found in org/model"));
  CHECK_THAT(message_of(refusal(404, "RepoNotFound"), false), Catch::Contains("org/model or revision 'main' not found"));
  CHECK_THAT(message_of(refusal(503), false), Catch::Contains("try again later"));
}

TEST_CASE("digests: sha256 and git blob ids of a file") {
  auto path = std::filesystem::temp_directory_path() / "maskfill_hub_digest_test.txt";
  std::ofstream(path) << "hello\n";
  CHECK(file_sha256(path.string()) == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  CHECK(file_git_blob_sha1(path.string()) == "ce013625030ba8dba906f756967f9e9ca394464a");  // git hash-object
  std::filesystem::remove(path);
  CHECK_THROWS_WITH(file_sha256("/nonexistent/file"), Catch::Contains("cannot read /nonexistent/file"));
}
