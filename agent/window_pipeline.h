// Runs a restore's file windows two at a time: while the walk fills one
// window (creating its files, which is file-system work on the walk's
// thread), a fetch thread gets the other window's chunks and the fetcher's
// workers write them. So file creation, chunk transfer and writing overlap
// instead of taking turns. Memory stays bounded: two windows.
//
//   WindowPipeline pipeline(settings, &log, &conn, &crypto, snapshot_id, workers);
//   RETURN_IF_ERROR(pipeline.filling().Add(dir, name, path, entry));
//   if (pipeline.filling().full()) pipeline.Submit();
//   pipeline.Drain();  // everything submitted and filling is written
#ifndef CAIRN_AGENT_WINDOW_PIPELINE_H_
#define CAIRN_AGENT_WINDOW_PIPELINE_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent_config.h"
#include "agent/chunk_fetcher.h"
#include "agent/restore_files.h"
#include "agent/server_connection.h"

namespace cairn {

class WindowPipeline final {
 public:
  WindowPipeline(FileWindow::Settings settings, RestoreLog* log, ServerConnection* connection,
                 const AgentCrypto* crypto, const std::string& snapshot_id, int workers);
  ~WindowPipeline();
  WindowPipeline(const WindowPipeline&) = delete;
  WindowPipeline& operator=(const WindowPipeline&) = delete;

  // The window the walk adds files to.
  FileWindow& filling() { return *windows_[filling_]; }
  // Hands the filling window to the fetch thread (once the other one is
  // done) and starts filling the other.
  void Submit();
  // Submits what is filling and waits until every window is written.
  void Drain();
  FetchStats stats() const { return fetcher_.stats(); }

 private:
  void FetchLoop();

  std::unique_ptr<FileWindow> windows_[2];
  int filling_ = 0;
  std::atomic<FileWindow*> fetching_{nullptr};  // where the fetcher delivers
  ChunkFetcher fetcher_;

  absl::Mutex mu_;
  FileWindow* submitted_ ABSL_GUARDED_BY(mu_) = nullptr;  // waiting for or in the fetch
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_WINDOW_PIPELINE_H_
