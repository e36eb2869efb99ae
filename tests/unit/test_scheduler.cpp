#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "lsp-server/scheduler.h"

using namespace maskfill::lsp;
using namespace std::chrono_literals;

namespace {

// Records, per task key, whether it ran to completion, saw cancellation, or never ran.
struct Outcomes {
  std::mutex mutex;
  std::map<std::string, std::string> by_key;
  void set(const std::string& key, const std::string& outcome) {
    std::lock_guard lock(mutex);
    by_key[key] = outcome;
  }
  std::string get(const std::string& key) {
    std::lock_guard lock(mutex);
    return by_key.count(key) ? by_key[key] : "pending";
  }
};

// A task that polls its token in small steps until `release` is set or it is cancelled.
Task polling_task(Outcomes& outcomes, std::string key, std::string kind, std::string document,
                  std::shared_future<void> release, std::promise<void>* started = nullptr) {
  Task task{key, std::move(kind), std::move(document), nullptr, nullptr};
  task.run = [&outcomes, key, release, started](const CancelToken& token) {
    if (started) started->set_value();
    while (release.wait_for(1ms) != std::future_status::ready) {
      if (token.cancelled()) return outcomes.set(key, "cancelled while running");
    }
    outcomes.set(key, "done");
  };
  task.on_cancelled = [&outcomes, key](CancelReason) { outcomes.set(key, "cancelled in queue"); };
  return task;
}

void wait_for(Outcomes& outcomes, const std::string& key) {
  for (int i = 0; i < 2000 && outcomes.get(key) == "pending"; ++i) std::this_thread::sleep_for(1ms);
}

}  // namespace

TEST_CASE("tasks run in order on one worker", "[scheduler]") {
  Scheduler scheduler;
  std::mutex mutex;
  std::vector<int> order;
  std::set<std::thread::id> threads;
  std::promise<void> finished;
  for (int i = 0; i < 20; ++i) {
    scheduler.submit(Task{std::to_string(i), "", "", [&, i](const CancelToken&) {
                            std::lock_guard lock(mutex);
                            order.push_back(i);
                            threads.insert(std::this_thread::get_id());
                            if (i == 19) finished.set_value();
                          }, nullptr});
  }
  REQUIRE(finished.get_future().wait_for(5s) == std::future_status::ready);
  std::vector<int> expected(20);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(order == expected);
  CHECK(threads.size() == 1);
  CHECK(*threads.begin() != std::this_thread::get_id());
}

TEST_CASE("cancel reaches running and queued tasks exactly once", "[scheduler]") {
  Outcomes outcomes;
  Scheduler scheduler;
  std::promise<void> never_promise;
  auto never = never_promise.get_future().share();
  std::promise<void> started;
  scheduler.submit(polling_task(outcomes, "running", "", "", never, &started));
  started.get_future().wait();
  scheduler.submit(polling_task(outcomes, "queued", "", "", never));
  CHECK(scheduler.cancel("queued"));
  CHECK(outcomes.get("queued") == "cancelled in queue");  // answered at once, not after "running"
  CHECK(scheduler.cancel("running"));
  wait_for(outcomes, "running");
  CHECK(outcomes.get("running") == "cancelled while running");
  CHECK_FALSE(scheduler.cancel("running"));
  CHECK_FALSE(scheduler.cancel("unknown"));
}

TEST_CASE("a newer task of the same kind and document supersedes older ones", "[scheduler]") {
  Outcomes outcomes;
  Scheduler scheduler;
  std::promise<void> release_promise;
  auto release = release_promise.get_future().share();
  std::promise<void> started;
  scheduler.submit(polling_task(outcomes, "a1", "inline", "file:///a", release, &started));
  started.get_future().wait();
  scheduler.submit(polling_task(outcomes, "a2", "inline", "file:///a", release));
  scheduler.submit(polling_task(outcomes, "b1", "inline", "file:///b", release));  // other document
  scheduler.submit(polling_task(outcomes, "a3", "edit", "file:///a", release));    // other kind
  scheduler.submit(polling_task(outcomes, "a4", "inline", "file:///a", release));
  wait_for(outcomes, "a1");
  CHECK(outcomes.get("a1") == "cancelled while running");
  CHECK(outcomes.get("a2") == "cancelled in queue");
  release_promise.set_value();
  for (const char* key : {"b1", "a3", "a4"}) wait_for(outcomes, key);
  CHECK(outcomes.get("b1") == "done");
  CHECK(outcomes.get("a3") == "done");
  CHECK(outcomes.get("a4") == "done");
}

TEST_CASE("stop cancels everything and joins, later tasks are refused", "[scheduler]") {
  Outcomes outcomes;
  std::promise<void> never_promise;
  auto never = never_promise.get_future().share();
  std::promise<void> started;
  {
    Scheduler scheduler;
    scheduler.submit(polling_task(outcomes, "running", "", "", never, &started));
    started.get_future().wait();
    scheduler.submit(polling_task(outcomes, "queued", "", "", never));
    scheduler.stop();
    CHECK(outcomes.get("running") == "cancelled while running");
    CHECK(outcomes.get("queued") == "cancelled in queue");
    scheduler.submit(polling_task(outcomes, "late", "", "", never));
    CHECK(outcomes.get("late") == "cancelled in queue");
  }
}

TEST_CASE("a throwing task does not kill the worker", "[scheduler]") {
  Scheduler scheduler;
  std::promise<void> after;
  scheduler.submit(Task{"boom", "", "", [](const CancelToken&) { throw std::runtime_error("boom"); }, nullptr});
  scheduler.submit(Task{"ok", "", "", [&](const CancelToken&) { after.set_value(); }, nullptr});
  CHECK(after.get_future().wait_for(5s) == std::future_status::ready);
}

TEST_CASE("cancellations carry their reason: client, superseded or shutdown", "[scheduler]") {
  std::mutex mutex;
  std::map<std::string, CancelReason> reasons;
  auto record = [&](const std::string& key) {
    return [&, key](CancelReason reason) {
      std::lock_guard lock(mutex);
      reasons[key] = reason;
    };
  };
  std::promise<void> started, release;
  std::promise<CancelReason> running_reason;
  auto released = release.get_future().share();
  Scheduler scheduler;
  // Keeps the worker busy until released, so the tasks queued behind it stay queued.
  scheduler.submit(Task{"running", "inline", "file:///a", [&](const CancelToken& token) {
                          started.set_value();
                          while (!token.cancelled()) std::this_thread::sleep_for(1ms);
                          running_reason.set_value(token.reason());
                          released.wait();
                        },
                        record("running")});
  started.get_future().wait();
  scheduler.submit(Task{"queued-b", "inline", "file:///b", [](const CancelToken&) {}, record("queued-b")});
  scheduler.submit(Task{"queued-c", "", "", [](const CancelToken&) {}, record("queued-c")});
  scheduler.submit(Task{"newer-a", "inline", "file:///a", [](const CancelToken&) {}, record("newer-a")});
  CHECK(running_reason.get_future().get() == CancelReason::Superseded);  // seen on the running task's token
  CHECK(scheduler.cancel("queued-c"));
  scheduler.submit(Task{"newer-b", "inline", "file:///b", [](const CancelToken&) {}, record("newer-b")});
  {
    std::lock_guard lock(mutex);
    CHECK(reasons["queued-b"] == CancelReason::Superseded);
    CHECK(reasons["queued-c"] == CancelReason::Client);
    CHECK(reasons.count("running") == 0);  // it runs, so it answers itself
  }
  scheduler.submit(Task{"late", "", "", [](const CancelToken&) {}, record("late")});
  scheduler.cancel_all();  // what shutdown does: everything queued is dropped as Shutdown
  release.set_value();
  scheduler.stop();
  std::lock_guard lock(mutex);
  CHECK(reasons["late"] == CancelReason::Shutdown);
}
