#include "agent/window_pipeline.h"

namespace cairn {

WindowPipeline::WindowPipeline(FileWindow::Settings settings, RestoreLog* log,
                               ServerConnection* connection, const AgentCrypto* crypto,
                               const std::string& snapshot_id, int workers)
    : windows_{std::make_unique<FileWindow>(settings, log),
               std::make_unique<FileWindow>(settings, log)},
      fetcher_(connection, crypto, snapshot_id, workers,
               [this](const std::string& id, const absl::Status& status, absl::string_view plain) {
                 fetching_.load()->Deliver(id, status, plain);
               }) {
  thread_ = std::thread([this] { FetchLoop(); });
}

WindowPipeline::~WindowPipeline() {
  Drain();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void WindowPipeline::FetchLoop() {
  while (true) {
    FileWindow* window;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return submitted_ != nullptr || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (submitted_ == nullptr) return;
      window = submitted_;
    }
    fetching_ = window;
    absl::Status fetched = fetcher_.Fetch(window->ChunkIds());
    window->Close(fetched);
    absl::MutexLock lock(&mu_);
    submitted_ = nullptr;
  }
}

void WindowPipeline::Submit() {
  FileWindow* window = windows_[filling_].get();
  if (window->empty()) return;
  absl::MutexLock lock(&mu_);
  auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return submitted_ == nullptr; };
  mu_.Await(absl::Condition(&free));  // the other window is written by now
  submitted_ = window;
  filling_ = 1 - filling_;
}

void WindowPipeline::Drain() {
  Submit();
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return submitted_ == nullptr; };
  mu_.Await(absl::Condition(&idle));
}

}  // namespace cairn
