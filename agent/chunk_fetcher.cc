#include "agent/chunk_fetcher.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/chunk_id.h"
#include "common/codec.h"
#include "common/data_mac.h"
#include "common/delta_codec.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// A ReadChunks call: on the data port when the server offers a data session
// (the request tagged, every answer's tag checked; docs/security.md, "The
// data channel"), over TLS otherwise.
class ReadCall final {
 public:
  ReadCall(ServerConnection* connection, grpc::ClientContext* context,
           v1::ReadChunksRequest request)
      : connection_(connection), context_(context), data_(connection->StartDataCall()) {
    if (data_.has_value()) {
      context->AddMetadata(kDataSessionMetadata, data_->session_hex);
      context->AddMetadata(kDataCallMetadata, absl::StrCat(data_->call));
      request.set_mac(ReadRequestMac(*data_->key, data_->call, request));
      reader_ = data_->stub->ReadChunks(context, request);
    } else {
      reader_ = connection->stub()->ReadChunks(context, request);
    }
  }

  // The next answer; false at the end, or at an answer whose tag does not
  // check (Finish then says so).
  bool Read(v1::ReadChunkResponse* response) {
    if (forged_ || !reader_->Read(response)) return false;
    if (data_.has_value() &&
        !DataMacMatches(response->mac(), ReadResponseMac(*data_->key, data_->call, received_,
                                                         response->id(), response->sealed()))) {
      forged_ = true;
      return false;
    }
    ++received_;
    return true;
  }

  grpc::Status Finish() {
    if (forged_) {
      context_->TryCancel();
      grpc::Status ignored = reader_->Finish();
      (void)ignored;
      return grpc::Status(grpc::StatusCode::DATA_LOSS,
                          absl::StrCat("answer ", received_,
                                       " of a read on the data port did not "
                                       "authenticate (altered between server and agent?)"));
    }
    grpc::Status status = reader_->Finish();
    if (data_.has_value() && status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      connection_->ForgetDataSession();  // the next call opens another
      stale_ = received_ == 0;
    }
    return status;
  }

  // Whether the data port refused the call before it sent anything: a
  // session the server no longer knows (it restarted). Worth one more try,
  // which opens a new session.
  bool StaleSession() const { return stale_; }

 private:
  ServerConnection* connection_;
  grpc::ClientContext* context_;
  std::optional<ServerConnection::DataCall> data_;
  std::unique_ptr<grpc::ClientReader<v1::ReadChunkResponse>> reader_;
  uint64_t received_ = 0;
  bool forged_ = false;
  bool stale_ = false;
};

}  // namespace

absl::Status OpenChunk(const AgentCrypto& crypto, absl::string_view id_bytes,
                       absl::string_view sealed, std::string* framed, std::string* plain,
                       const BaseFetch& fetch_base) {
  ASSIGN_OR_RETURN(ChunkId id, ChunkIdFromBytes(id_bytes));
  RETURN_IF_ERROR(crypto.sealer.Open(id, sealed, framed));
  ASSIGN_OR_RETURN(std::optional<ChunkId> base, DeltaBaseOf(*framed));
  if (base.has_value()) {
    if (!fetch_base) {
      return absl::FailedPreconditionError(
          absl::StrCat("chunk ", ChunkIdHex(id), " is a checkpoint delta of chunk ",
                       ChunkIdHex(*base), ", and no base can be fetched here"));
    }
    std::string base_plain;
    absl::Status fetched = fetch_base(*base, &base_plain);
    if (!fetched.ok()) {
      return absl::Status(fetched.code(),
                          absl::StrCat("chunk ", ChunkIdHex(id), " is a delta of chunk ",
                                       ChunkIdHex(*base), ": ", fetched.message()));
    }
    RETURN_IF_ERROR(DecompressDelta(*framed, base_plain, kMaxChunkBytes, plain));
  } else {
    RETURN_IF_ERROR(Decompress(*framed, kMaxChunkBytes, plain));
  }
  // The id is the keyed hash of the plaintext: a chunk stored under the
  // wrong id, or corrupted before sealing, is caught here.
  if (crypto.hasher.Hash(*plain) != id) {
    return absl::DataLossError(
        absl::StrCat("chunk ", ChunkIdHex(id), " does not match its id after decryption"));
  }
  return absl::OkStatus();
}

ChunkFetcher::ChunkFetcher(ServerConnection* connection, const AgentCrypto* crypto,
                           std::string snapshot_id, int workers, Deliver deliver)
    : connection_(connection),
      crypto_(crypto),
      snapshot_id_(std::move(snapshot_id)),
      max_queued_(2 * static_cast<size_t>(std::max(1, workers))),
      deliver_(std::move(deliver)) {
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { Work(); });
}

ChunkFetcher::~ChunkFetcher() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }
  for (std::thread& t : workers_) t.join();
}

void ChunkFetcher::Work() {
  std::string framed, plain;
  while (true) {
    Item item;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || closing_; };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    absl::Status status = OpenChunk(
        *crypto_, item.id, item.sealed, &framed, &plain,
        [this](const ChunkId& base, std::string* out) { return FetchBase(base, 1, out); });
    item.sealed = std::string();  // the sealed copy is not needed any more
    if (!status.ok()) {
      // Kept for a second try; a second try that fails too leaves the
      // first copy's problem to be reported (Fetch).
      absl::MutexLock lock(&mu_);
      if (!item.second_try) failed_.emplace(std::move(item.id), std::move(status));
      --busy_;
      continue;
    }
    if (item.second_try) {
      absl::MutexLock lock(&mu_);
      failed_.erase(item.id);
    }
    deliver_(item.id, status, plain);
    absl::MutexLock lock(&mu_);
    --busy_;
  }
}

absl::Status ChunkFetcher::FetchBase(const ChunkId& base, int depth, std::string* plain) {
  if (depth > kMaxDeltaDepth) {
    return absl::DataLossError(
        absl::StrCat("its chain of deltas is longer than the limit of ", kMaxDeltaDepth));
  }
  v1::ReadChunksRequest request;
  request.set_snapshot_id(snapshot_id_);
  request.add_ids(std::string(ChunkIdBytes(base)));
  v1::ReadChunkResponse response;
  bool got = false;
  grpc::Status rpc;
  for (int attempt = 0; attempt < 2; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(10)));
    ReadCall reader(connection_, &context, request);
    while (reader.Read(&response)) {
      if (got || response.id() != request.ids(0)) {
        context.TryCancel();
        break;
      }
      got = true;
    }
    rpc = reader.Finish();
    if (!reader.StaleSession()) break;
  }
  if (!rpc.ok() && !(got && rpc.error_code() == grpc::StatusCode::CANCELLED)) {
    return FromGrpcStatus(rpc);
  }
  if (!got)
    return absl::NotFoundError(absl::StrCat("the server did not send base ", ChunkIdHex(base)));
  base_reads_.fetch_add(1, std::memory_order_relaxed);
  std::string framed;
  bool further_down = false;  // the failure, if any, is a later link's
  absl::Status opened =
      OpenChunk(*crypto_, request.ids(0), response.sealed(), &framed, plain,
                [this, depth, &further_down](const ChunkId& next, std::string* out) {
                  absl::Status link = FetchBase(next, depth + 1, out);
                  further_down = !link.ok();
                  return link;
                });
  if (!opened.ok() && !further_down && bad_base_) bad_base_(request.ids(0), opened);
  return opened;
}

absl::Status ChunkFetcher::Fetch(const std::vector<std::string>& ids) {
  absl::Status status;
  for (size_t start = 0; start < ids.size() && status.ok(); start += kMaxReadIdsPerCall) {
    status = FetchBatch(ids, start, std::min(ids.size(), start + kMaxReadIdsPerCall), false);
  }
  Drain();
  // A second try for the chunks that did not open, with the copies the
  // server kept after damage reports (most have none).
  std::vector<std::string> retry;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, why] : failed_) retry.push_back(id);
  }
  for (size_t start = 0; start < retry.size() && status.ok(); start += kMaxReadIdsPerCall) {
    status = FetchBatch(retry, start, std::min(retry.size(), start + kMaxReadIdsPerCall), true);
  }
  Drain();
  absl::flat_hash_map<std::string, absl::Status> failed;
  {
    absl::MutexLock lock(&mu_);
    failed.swap(failed_);
  }
  for (const auto& [id, why] : failed) deliver_(id, why, absl::string_view());
  return status;
}

void ChunkFetcher::Drain() {
  absl::MutexLock lock(&mu_);
  auto drained = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.empty() && busy_ == 0; };
  mu_.Await(absl::Condition(&drained));
}

absl::Status ChunkFetcher::FetchBatch(const std::vector<std::string>& ids, size_t start, size_t end,
                                      bool superseded) {
  v1::ReadChunksRequest request;
  request.set_snapshot_id(snapshot_id_);
  request.set_superseded(superseded);
  absl::flat_hash_set<absl::string_view> asked;
  for (size_t i = start; i < end; ++i) {
    request.add_ids(ids[i]);
    asked.insert(ids[i]);
  }
  for (int attempt = 0;; ++attempt) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Hours(1)));
    ReadCall reader(connection_, &context, request);
    ++stats_.calls;
    v1::ReadChunkResponse response;
    absl::Status status;
    while (reader.Read(&response)) {
      // Each id once, and only ids we asked for.
      if (asked.erase(response.id()) == 0) {
        context.TryCancel();
        status = absl::DataLossError(absl::StrCat("the server sent chunk ", HexOf(response.id()),
                                                  " which was not asked for (or twice)"));
        break;
      }
      ++stats_.chunks;
      stats_.sealed_bytes += response.sealed().size();
      absl::MutexLock lock(&mu_);
      auto room = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.size() < max_queued_; };
      mu_.Await(absl::Condition(&room));
      queue_.push_back(Item{std::move(*response.mutable_id()),
                            std::move(*response.mutable_sealed()), superseded});
    }
    grpc::Status rpc = reader.Finish();
    if (attempt == 0 && reader.StaleSession()) continue;
    RETURN_IF_ERROR(status);
    if (!rpc.ok()) return FromGrpcStatus(rpc);
    if (!asked.empty() && !superseded) {  // superseded copies: only the ids that have one
      return absl::DataLossError(absl::StrCat("the server sent ", (end - start) - asked.size(),
                                              " of ", end - start, " chunks asked for"));
    }
    return absl::OkStatus();
  }
}

}  // namespace cairn
