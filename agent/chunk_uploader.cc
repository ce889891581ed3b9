#include "agent/chunk_uploader.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/data_mac.h"
#include "common/delta_codec.h"
#include "common/limits.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// A batch goes to FindMissingChunks when it holds this many chunks or bytes.
constexpr size_t kBatchChunks = 256;
constexpr size_t kBatchBytes = 16u << 20;
// How long chunks another backup claimed may take to be stored before this
// backup gives up (each claim ends within the server's claim_ttl of its
// holder going quiet, so this is reached only when the server misbehaves).
constexpr absl::Duration kMaxClaimWait = absl::Minutes(10);

}  // namespace

ChunkUploader::ChunkUploader(ServerConnection* connection, const AgentCrypto* crypto,
                             std::string job_id, int workers, size_t max_inflight_bytes,
                             uint64_t bandwidth_bytes_per_second)
    : connection_(connection),
      crypto_(crypto),
      job_id_(std::move(job_id)),
      max_inflight_bytes_(std::max<size_t>(max_inflight_bytes, 2 * kMaxChunkBytes)),
      bandwidth_bytes_per_second_(bandwidth_bytes_per_second) {
  for (int i = 0; i < std::max(1, workers); ++i) sealers_.emplace_back([this] { SealLoop(); });
  sender_ = std::thread([this] { SendLoop(); });
}

ChunkUploader::~ChunkUploader() {
  if (!finished_) {
    {
      absl::MutexLock lock(&mu_);
      Fail(absl::CancelledError("upload abandoned"));
      if (context_ != nullptr) context_->TryCancel();
    }
    StopThreads();
  }
}

void ChunkUploader::Fail(absl::Status status) {
  if (error_.ok()) error_ = std::move(status);
  to_seal_.clear();
  to_send_.clear();
  inflight_bytes_ = 0;
}

void ChunkUploader::StopThreads() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }
  for (std::thread& t : sealers_) t.join();
  sealers_.clear();
  if (sender_.joinable()) sender_.join();
}

absl::Status ChunkUploader::Add(const ChunkId& id, absl::string_view data, const DataHint& hint,
                                std::optional<ChunkBase> base) {
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(error_);
  }
  ++stats_.chunks_checked;
  // The same chunk twice in one job (repeated content) is sent once.
  if (!queued_ids_.insert(id).second) return absl::OkStatus();
  if (crypto_->delta_chain <= 0 ||
      (base.has_value() && (base->id == id || base->plain.size() != data.size()))) {
    base.reset();
  }
  batch_bytes_ += data.size() + (base.has_value() ? base->plain.size() : 0);
  batch_.push_back(Item{id, std::string(data), hint, 0, std::move(base)});
  if (batch_.size() >= kBatchChunks || batch_bytes_ >= kBatchBytes) return CheckBatch();
  return absl::OkStatus();
}

absl::Status ChunkUploader::CheckBatch() {
  if (batch_.empty()) return absl::OkStatus();
  absl::Status status = Ask(&batch_, nullptr);
  batch_.clear();
  batch_bytes_ = 0;
  RETURN_IF_ERROR(status);
  // Set-aside chunks hold memory: past their bound, wait for them now.
  if (deferred_bytes_ > max_inflight_bytes_ / 2) return ResolveDeferred();
  return absl::OkStatus();
}

absl::Status ChunkUploader::Ask(std::vector<Item>* items, uint64_t* stored) {
  v1::FindMissingChunksRequest request;
  request.set_job_id(job_id_);
  request.set_wait_for_claims(true);
  bool bases = false;
  for (const Item& item : *items) {
    request.add_ids(std::string(ChunkIdBytes(item.id)));
    bases = bases || item.base.has_value();
  }
  if (bases) {
    for (const Item& item : *items) {
      request.add_base_ids(item.base.has_value() ? std::string(ChunkIdBytes(item.base->id))
                                                 : std::string());
    }
    request.set_max_chain(static_cast<uint32_t>(crypto_->delta_chain));
  }
  absl::StatusOr<v1::FindMissingChunksResponse> response =
      connection_->Call(&v1::AgentService::Stub::FindMissingChunks, request);
  absl::MutexLock lock(&mu_);
  if (!response.ok()) {
    Fail(response.status());
    return response.status();
  }
  // Each index at most once, in one of the two lists.
  std::vector<bool> answered(items->size());
  for (const auto* list : {&response->missing(), &response->in_flight()}) {
    for (uint32_t index : *list) {
      if (index >= items->size() || answered[index]) {
        Fail(absl::InternalError("server answered FindMissingChunks with a bad index"));
        return error_;
      }
      answered[index] = true;
    }
  }
  for (uint32_t index : response->in_flight()) {
    Item& item = (*items)[index];
    item.base.reset();  // by the time it is asked again, the base may be gone
    deferred_bytes_ += item.data.size();
    deferred_.push_back(std::move(item));
  }
  absl::flat_hash_set<uint32_t> usable(response->usable_bases().begin(),
                                       response->usable_bases().end());
  for (uint32_t index : response->missing()) {
    Item& item = (*items)[index];
    if (!usable.contains(index)) item.base.reset();
    Enqueue(std::move(item));
    if (!error_.ok()) break;
  }
  if (stored != nullptr) {
    *stored += items->size() - static_cast<size_t>(response->missing_size()) -
               static_cast<size_t>(response->in_flight_size());
  }
  return error_;
}

void ChunkUploader::Enqueue(Item item) {
  // Back-pressure: wait until the pipeline has room for this chunk.
  size_t size = item.data.size() + (item.base.has_value() ? item.base->plain.size() : 0);
  auto has_room = [this, size]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !error_.ok() || inflight_bytes_ + size <= max_inflight_bytes_;
  };
  mu_.Await(absl::Condition(&has_room));
  if (!error_.ok()) return;
  inflight_bytes_ += size;
  to_seal_.push_back(std::move(item));
}

absl::Status ChunkUploader::ResolveDeferred() {
  absl::Duration pause = absl::Milliseconds(20);
  const absl::Time deadline = absl::Now() + kMaxClaimWait;
  while (!deferred_.empty()) {
    // Our own uploads durable first: then no backup waits on us while we wait.
    RETURN_IF_ERROR(CloseStream());
    std::vector<Item> asking;
    asking.swap(deferred_);
    deferred_bytes_ = 0;
    const size_t before = asking.size();
    for (size_t i = 0; i < asking.size(); i += kBatchChunks) {
      std::vector<Item> slice(
          std::make_move_iterator(asking.begin() + i),
          std::make_move_iterator(asking.begin() + std::min(asking.size(), i + kBatchChunks)));
      uint64_t stored = 0;
      RETURN_IF_ERROR(Ask(&slice, &stored));
      stats_.chunks_waited += stored;
    }
    // Those no longer set aside were stored by another backup or are ours
    // to send now (their claim ended without them).
    const size_t resolved = before - deferred_.size();
    if (deferred_.empty()) break;
    if (resolved > 0) continue;  // progress: ask again at once
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(deferred_.size(), " chunks another backup claimed were not stored within ",
                       absl::FormatDuration(kMaxClaimWait), "; run the backup again"));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Seconds(1));
  }
  return CloseStream();
}

absl::Status ChunkUploader::CloseStream() {
  absl::MutexLock lock(&mu_);
  const uint64_t request = ++close_requests_;
  auto answered = [this, request]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closes_done_ >= request || send_done_ || !error_.ok();
  };
  mu_.Await(absl::Condition(&answered));
  return error_;
}

void ChunkUploader::Frame(Item* item, std::string* framed, std::string* scratch) {
  framed->clear();
  if (item->base.has_value()) {
    item->as_delta = CompressDelta(crypto_->codec, item->data, item->base->id, item->base->plain,
                                   framed, item->hint);
    // A delta that does not halve the chunk is weighed against the whole
    // chunk: the whole one wins ties (it starts no chain).
    if (!item->as_delta || framed->size() > item->data.size() / 2) {
      scratch->clear();
      Compress(crypto_->codec, item->data, scratch, item->hint);
      if (!item->as_delta || scratch->size() <= framed->size()) {
        framed->swap(*scratch);
        item->as_delta = false;
      }
    }
    const size_t base_size = item->base->plain.size();
    if (!item->as_delta) item->base.reset();
    if (item->base.has_value()) std::string().swap(item->base->plain);
    absl::MutexLock lock(&mu_);
    inflight_bytes_ -= std::min(inflight_bytes_, base_size);
    return;
  }
  Compress(crypto_->codec, item->data, framed, item->hint);
}

void ChunkUploader::SealLoop() {
  std::string framed, scratch;
  while (true) {
    Item item;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !to_seal_.empty() || closing_; };
      mu_.Await(absl::Condition(&ready));
      if (to_seal_.empty()) return;  // closing
      item = std::move(to_seal_.front());
      to_seal_.pop_front();
      ++sealing_;
    }
    Frame(&item, &framed, &scratch);
    std::string sealed;
    sealed.reserve(framed.size() + Sealer::kOverhead);
    absl::Status sealed_ok = crypto_->sealer.Seal(item.id, framed, &sealed);
    // The plaintext is no longer needed: free it now, not when sent.
    uint32_t raw_size = static_cast<uint32_t>(item.data.size());
    std::string().swap(item.data);
    item.raw_size = raw_size;
    absl::MutexLock lock(&mu_);
    --sealing_;
    if (!sealed_ok.ok()) Fail(sealed_ok);
    if (error_.ok()) to_send_.emplace_back(std::move(item), std::move(sealed));
  }
}

void ChunkUploader::OpenStream() {
  auto context = std::make_unique<grpc::ClientContext>();
  data_call_ = connection_->StartDataCall();
  data_messages_ = 0;
  if (data_call_.has_value()) {
    context->AddMetadata(kDataSessionMetadata, data_call_->session_hex);
    context->AddMetadata(kDataCallMetadata, absl::StrCat(data_call_->call));
    writer_ = data_call_->stub->UploadChunks(context.get(), &response_);
  } else {
    writer_ = connection_->stub()->UploadChunks(context.get(), &response_);
  }
  absl::MutexLock lock(&mu_);
  context_ = std::move(context);
  if (!error_.ok()) context_->TryCancel();  // abandoned meanwhile
}

absl::Status ChunkUploader::FinishStream() {
  if (writer_ == nullptr) return absl::OkStatus();
  writer_->WritesDone();
  grpc::Status rpc = writer_->Finish();
  writer_.reset();
  {
    absl::MutexLock lock(&mu_);
    context_.reset();
  }
  std::optional<ServerConnection::DataCall> data = std::move(data_call_);
  data_call_.reset();
  if (rpc.ok() && data.has_value() &&
      !DataMacMatches(
          response_.mac(),
          UploadResponseMac(*data->key, data->call, data_messages_, response_.chunks_stored(),
                            response_.chunks_already_present(), response_.bytes_stored()))) {
    return absl::DataLossError(
        "the server's answer on the data port did not authenticate (someone between agent and "
        "server?): the chunks of this stream are not known to be stored");
  }
  if (rpc.ok()) return absl::OkStatus();
  if (data.has_value() && rpc.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    connection_->ForgetDataSession();  // the next stream opens another
  }
  // The server's reason (disk full, a refused chunk) says more than our
  // side's "the stream broke".
  return absl::Status(FromGrpcStatus(rpc).code(),
                      absl::StrCat("upload failed: ", rpc.error_message()));
}

void ChunkUploader::SendLoop() {
  v1::UploadChunkRequest message;
  bool first = true;
  absl::Time started = absl::Now();
  uint64_t sent = 0;
  while (true) {
    std::pair<Item, std::string> next;
    bool close = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !to_send_.empty() || !error_.ok() ||
               (to_seal_.empty() && sealing_ == 0 && (closing_ || close_requests_ > closes_done_));
      };
      mu_.Await(absl::Condition(&ready));
      if (!error_.ok()) break;
      if (!to_send_.empty()) {
        next = std::move(to_send_.front());
        to_send_.pop_front();
      } else if (close_requests_ > closes_done_) {
        close = true;
      } else {
        break;  // closing, and nothing is left
      }
    }
    if (close) {
      absl::Status closed = FinishStream();
      absl::MutexLock lock(&mu_);
      if (!closed.ok()) Fail(closed);
      closes_done_ = close_requests_;
      continue;
    }
    if (writer_ == nullptr) {
      OpenStream();
      first = true;
      started = absl::Now();
      sent = 0;
    }
    message.Clear();
    if (first) message.set_job_id(job_id_);
    first = false;
    message.set_id(std::string(ChunkIdBytes(next.first.id)));
    message.set_size(next.first.raw_size);
    if (next.first.as_delta) message.set_base_id(std::string(ChunkIdBytes(next.first.base->id)));
    size_t sealed_size = next.second.size();
    message.set_sealed(std::move(next.second));
    if (data_call_.has_value()) {
      message.set_mac(UploadRequestMac(*data_call_->key, data_call_->call, data_messages_++,
                                       message.job_id(), message.id(), message.size(),
                                       message.base_id(), {message.sealed()}));
    }
    if (bandwidth_bytes_per_second_ > 0) {
      // Pace: never ahead of the cap averaged since the stream began.
      absl::Time due = started + absl::Seconds(static_cast<double>(sent) /
                                               static_cast<double>(bandwidth_bytes_per_second_));
      if (due > absl::Now()) absl::SleepFor(due - absl::Now());
    }
    sent += sealed_size;
    if (!writer_->Write(message)) {
      absl::Status why = FinishStream();
      absl::MutexLock lock(&mu_);
      Fail(why.ok() ? absl::UnavailableError(
                          "the upload stream broke (server gone or it refused a chunk)")
                    : why);
      break;
    }
    absl::MutexLock lock(&mu_);
    inflight_bytes_ -= std::min<size_t>(inflight_bytes_, next.first.raw_size);
    ++uploaded_;
    uploaded_bytes_ += sealed_size;
    if (next.first.as_delta) ++uploaded_deltas_;
  }
  // An error or an abandoned upload: a stream still open stores nothing.
  if (writer_ != nullptr) {
    {
      absl::MutexLock lock(&mu_);
      if (context_ != nullptr) context_->TryCancel();
    }
    grpc::Status cancelled = writer_->Finish();  // CANCELLED; nothing to report
    (void)cancelled;
    writer_.reset();
    data_call_.reset();
    absl::MutexLock lock(&mu_);
    context_.reset();
  }
  absl::MutexLock lock(&mu_);
  send_done_ = true;
}

absl::StatusOr<UploadStats> ChunkUploader::Finish() {
  absl::Status status = CheckBatch();
  if (status.ok()) status = CloseStream();
  if (status.ok()) status = ResolveDeferred();
  {
    absl::MutexLock lock(&mu_);
    if (!status.ok()) Fail(status);
  }
  StopThreads();
  finished_ = true;
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(error_);
  stats_.chunks_uploaded = uploaded_;
  stats_.bytes_uploaded = uploaded_bytes_;
  stats_.chunks_as_deltas = uploaded_deltas_;
  return stats_;
}

}  // namespace cairn
