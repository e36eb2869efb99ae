// Where the token may go, the cache's names, and which inputs are refused.
#include <catch2/catch.hpp>

#include "inference/hub/hub_cache.h"
#include "inference/hub/hub_settings.h"
#include "inference/hub/http_fetch.h"

using namespace maskfill::hub;

TEST_CASE("the token follows a redirect only to the same host and port") {
  CHECK(same_host_and_port("https://huggingface.co/a/resolve/main/x", "https://huggingface.co/b/resolve/main/x"));
  CHECK(same_host_and_port("https://HuggingFace.co/a", "https://huggingface.co:443/b"));
  CHECK_FALSE(same_host_and_port("https://huggingface.co/a", "https://cdn-lfs.huggingface.co/b"));
  CHECK_FALSE(same_host_and_port("http://127.0.0.1:8000/a", "http://127.0.0.1:8001/a"));
  CHECK_FALSE(same_host_and_port("http://huggingface.co/a", "https://huggingface.co/a"));
}

TEST_CASE("redirect locations resolve against the request URL") {
  CHECK(resolve_location("https://hub.example/a/b/c?x=1", "/d/e") == "https://hub.example/d/e");
  CHECK(resolve_location("https://hub.example/a/b/c", "https://cdn.example/blob?sig=1") == "https://cdn.example/blob?sig=1");
}

TEST_CASE("pagination follows the Link header's next URL") {
  CHECK(next_link(R"(<https://hub.example/api/models/a/b/tree/main?cursor=xyz>; rel="next")") ==
        "https://hub.example/api/models/a/b/tree/main?cursor=xyz");
  CHECK(next_link(R"(<https://hub.example/p1>; rel="prev")").empty());
  CHECK(next_link("").empty());
}

TEST_CASE("revisions and paths are escaped as huggingface_hub does") {
  CHECK(url_escape("refs/pr/1", false) == "refs%2Fpr%2F1");
  CHECK(url_escape("plots/a b.png", true) == "plots/a%20b.png");
}

TEST_CASE("the cache layout matches huggingface_hub's") {
  CHECK(cache_folder_name("ByteDance-Seed/Stable-DiffCoder-8B-Instruct") ==
        "models--ByteDance-Seed--Stable-DiffCoder-8B-Instruct");
  CHECK(blob_link_target("config.json", "abc") == "../../blobs/abc");
  CHECK(blob_link_target("plots/x/y.png", "abc") == "../../../../blobs/abc");
}

TEST_CASE("model ids must be ORG/NAME") {
  CHECK_NOTHROW(check_repo_id("ByteDance-Seed/Stable-DiffCoder-8B-Instruct"));
  CHECK_THROWS_WITH(check_repo_id("Stable-DiffCoder"), Catch::Contains("expected ORG/NAME"));
  CHECK_THROWS(check_repo_id("a/b/c"));
  CHECK_THROWS(check_repo_id("a/b c"));
  CHECK_THROWS_WITH(check_repo_id("a--b/c"), Catch::Contains("'--'"));
}

TEST_CASE("file paths from the hub may not leave the snapshot") {
  CHECK_NOTHROW(check_repo_path("model-00001-of-00004.safetensors"));
  CHECK_NOTHROW(check_repo_path("plots/ar.png"));
  for (const char* bad : {"../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "a/./b", "", "a\\b"})
    CHECK_THROWS_WITH(check_repo_path(bad), Catch::Contains("unsafe path"));
}
