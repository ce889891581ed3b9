#include "server/tiers/s3/s3_tier.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "server/tiers/s3/s3_client.h"
#include "server/tiers/s3/s3_signer.h"
#include "server/tiers/s3/s3_xml.h"

namespace cairn {
namespace {

std::string Unquoted(absl::string_view etag) {
  absl::ConsumePrefix(&etag, "\"");
  absl::ConsumeSuffix(&etag, "\"");
  return absl::AsciiStrToLower(etag);
}

// S3 answers an upload with the MD5 of what it stored as the ETag (unless the
// bucket encrypts with KMS keys, where the ETag is opaque: then only
// Content-MD5, which S3 checks itself, protects the upload).
S3ResponseCheck EtagIs(std::string md5_hex) {
  return [md5 = std::move(md5_hex)](const S3Response& r) -> absl::Status {
    auto it = r.headers.find("etag");
    if (it == r.headers.end()) return absl::OkStatus();
    std::string etag = Unquoted(it->second);
    bool is_md5 = etag.size() == 32 && std::all_of(etag.begin(), etag.end(),
                                                   [](char c) { return absl::ascii_isxdigit(c); });
    if (is_md5 && etag != md5) {
      return absl::DataLossError(
          absl::StrCat("the store's ETag ", etag, " is not the MD5 ", md5, " of what was sent"));
    }
    return absl::OkStatus();
  };
}

class S3Tier;

class S3Writer final : public TierWriter {
 public:
  S3Writer(S3Tier* tier, std::string key) : tier_(tier), key_(std::move(key)) {}
  ~S3Writer() override;
  absl::Status Append(absl::string_view data) override;
  absl::Status Commit() override;
  uint64_t size() const override { return size_; }

 private:
  absl::Status StartUpload();
  // Uploads part `number` (1-based) and stores its ETag in *etag.
  absl::Status PutPart(size_t number, absl::string_view part, std::string* etag);
  // Sends buffer_ as the next part on a thread of its own, after the one
  // before it is done: receiving the next part overlaps sending this one.
  absl::Status SendPartInBackground();
  // Waits for the part in flight; its error fails the writer.
  absl::Status WaitForPartInFlight();
  absl::Status Fail(absl::Status s) {
    if (status_.ok()) status_ = s;
    return status_;
  }

  S3Tier* const tier_;
  const std::string key_;
  std::string buffer_;  // at most one part
  std::string upload_id_;
  std::vector<std::string> etags_;  // per part, in order
  std::thread in_flight_;           // sending in_flight_part_
  std::string in_flight_part_;
  absl::Status in_flight_status_;
  uint64_t size_ = 0;
  bool committed_ = false;
  absl::Status status_;
};

class S3Tier final : public Tier {
 public:
  S3Tier(std::string name, S3TierOptions options)
      : name_(std::move(name)), client_(std::move(options)) {}

  std::string name() const override { return name_; }
  std::string kind() const override { return "s3"; }
  S3Client& client() { return client_; }
  std::string Key(absl::string_view object) const {
    return absl::StrCat(client_.options().prefix, object);
  }
  // The headers of a new object (not of its parts).
  std::map<std::string, std::string> ObjectHeaders() const {
    std::map<std::string, std::string> h;
    if (!client_.options().storage_class.empty()) {
      h["x-amz-storage-class"] = client_.options().storage_class;
    }
    return h;
  }

  absl::StatusOr<std::unique_ptr<TierWriter>> Create(absl::string_view object) override {
    RETURN_IF_ERROR(ValidateObjectName(object));
    return std::unique_ptr<TierWriter>(new S3Writer(this, Key(object)));
  }

  absl::Status Put(absl::string_view object, absl::string_view data) override {
    ASSIGN_OR_RETURN(std::unique_ptr<TierWriter> w, Create(object));
    RETURN_IF_ERROR(w->Append(data));
    return w->Commit();
  }

  absl::Status PutWhole(const std::string& key, absl::string_view data) {
    const Md5Sum md5 = Md5Of(data);
    S3Request put{.method = "PUT", .key = key, .headers = ObjectHeaders(), .body = data};
    put.headers["content-md5"] = md5.base64;
    ASSIGN_OR_RETURN(S3Response r, client_.Send(put, EtagIs(md5.hex)));
    if (r.status != 200) return S3Error(r, absl::StrCat("write ", key));
    return absl::OkStatus();
  }

  absl::Status Read(absl::string_view object, uint64_t offset, size_t length,
                    std::string* out) override {
    RETURN_IF_ERROR(ValidateObjectName(object));
    if (length == 0) {
      ASSIGN_OR_RETURN(uint64_t size, Size(object));
      if (offset > size) return OutOfRange(object, offset, length, size);
      out->clear();
      return absl::OkStatus();
    }
    S3Request get{.method = "GET", .key = Key(object), .max_body = length};
    get.headers["range"] = absl::StrCat("bytes=", offset, "-", offset + length - 1);
    // A short body (a connection cut mid-reply) is retried; a short range
    // because the object ends first is an answer (OutOfRange below).
    uint64_t total = 0;
    ASSIGN_OR_RETURN(S3Response r, client_.Send(get, [&](const S3Response& r) -> absl::Status {
      if (r.status != 206) return absl::OkStatus();
      total = TotalFromContentRange(r);
      uint64_t expect = total > offset ? std::min<uint64_t>(length, total - offset) : 0;
      if (r.body.size() != expect) {
        return absl::DataLossError(absl::StrCat("read of ", object, " returned ", r.body.size(),
                                                " of ", expect, " bytes"));
      }
      return absl::OkStatus();
    }));
    if (r.status == 416) {
      ASSIGN_OR_RETURN(uint64_t size, Size(object));
      return OutOfRange(object, offset, length, size);
    }
    if (r.status == 200 && offset == 0 && r.body.size() == length) {
      *out = std::move(r.body);  // the store ignored Range but the object is exactly this
      return absl::OkStatus();
    }
    if (r.status != 206) {
      if (r.status == 200) {
        return absl::FailedPreconditionError(
            absl::StrCat("read ", object, ": the store ignored the Range header"));
      }
      return S3Error(r, absl::StrCat("read ", object));
    }
    if (r.body.size() < length) return OutOfRange(object, offset, length, total);
    *out = std::move(r.body);
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size(absl::string_view object) override {
    RETURN_IF_ERROR(ValidateObjectName(object));
    ASSIGN_OR_RETURN(S3Response r, client_.Send({.method = "HEAD", .key = Key(object)}));
    if (r.status != 200) return S3Error(r, absl::StrCat("stat ", object));
    uint64_t size = 0;
    auto it = r.headers.find("content-length");
    if (it == r.headers.end() || !absl::SimpleAtoi(it->second, &size)) {
      return absl::DataLossError(absl::StrCat("stat ", object, ": no Content-Length"));
    }
    return size;
  }

  absl::Status Delete(absl::string_view object) override {
    RETURN_IF_ERROR(Size(object).status());  // S3 deletes absent objects silently
    ASSIGN_OR_RETURN(S3Response r, client_.Send({.method = "DELETE", .key = Key(object)}));
    if (r.status != 204 && r.status != 200) return S3Error(r, absl::StrCat("delete ", object));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> List() override {
    std::vector<std::string> names;
    RETURN_IF_ERROR(ListWithSizes("", &names, nullptr));
    return names;
  }

  absl::StatusOr<std::vector<std::string>> ListWithPrefix(absl::string_view prefix) override {
    std::vector<std::string> names;
    RETURN_IF_ERROR(ListWithSizes(prefix, &names, nullptr));
    return names;
  }

  absl::StatusOr<TierSpace> Space() override {
    std::vector<std::string> names;
    uint64_t used = 0;
    RETURN_IF_ERROR(ListWithSizes("", &names, &used));
    uint64_t capacity = client_.options().capacity_bytes;
    return TierSpace{.used_bytes = used,
                     .free_bytes = capacity > used ? capacity - used : 0,
                     .objects = names.size()};
  }

 private:
  static absl::Status OutOfRange(absl::string_view object, uint64_t offset, size_t length,
                                 uint64_t size) {
    return absl::OutOfRangeError(absl::StrCat("read ", object, " [", offset, ", +", length,
                                              ") is beyond its end (", size, " bytes)"));
  }

  static uint64_t TotalFromContentRange(const S3Response& r) {
    auto it = r.headers.find("content-range");
    uint64_t total = 0;
    if (it == r.headers.end()) return 0;
    size_t slash = it->second.rfind('/');
    if (slash == std::string::npos ||
        !absl::SimpleAtoi(absl::string_view(it->second).substr(slash + 1), &total)) {
      return 0;
    }
    return total;
  }

  // Every object under the tier's prefix whose rest is a valid object name
  // starting with `start`, sorted.
  absl::Status ListWithSizes(absl::string_view start, std::vector<std::string>* names,
                             uint64_t* used) {
    const std::string& prefix = client_.options().prefix;
    std::string token;
    do {
      S3Request list{.method = "GET", .key = "", .max_body = 16 << 20};
      list.query = {{"list-type", "2"}, {"prefix", absl::StrCat(prefix, start)}};
      if (!token.empty()) list.query.emplace_back("continuation-token", token);
      ASSIGN_OR_RETURN(S3Response r, client_.Send(list));
      if (r.status != 200)
        return S3Error(r, absl::StrCat("list bucket ", client_.options().bucket));
      ASSIGN_OR_RETURN(std::vector<std::string> keys, XmlTexts(r.body, "Key"));
      ASSIGN_OR_RETURN(std::vector<std::string> sizes, XmlTexts(r.body, "Size"));
      if (keys.size() != sizes.size()) return absl::DataLossError("malformed ListObjectsV2 reply");
      for (size_t i = 0; i < keys.size(); ++i) {
        absl::string_view name = keys[i];
        if (!absl::ConsumePrefix(&name, prefix) || !ValidateObjectName(name).ok()) continue;
        names->emplace_back(name);
        uint64_t size = 0;
        if (used != nullptr && absl::SimpleAtoi(sizes[i], &size)) *used += size;
      }
      token = XmlFirstText(r.body, "IsTruncated") == "true"
                  ? XmlFirstText(r.body, "NextContinuationToken")
                  : "";
    } while (!token.empty());
    std::sort(names->begin(), names->end());
    return absl::OkStatus();
  }

  const std::string name_;
  S3Client client_;
};

S3Writer::~S3Writer() {
  if (in_flight_.joinable()) in_flight_.join();
  if (committed_ || upload_id_.empty()) return;
  // Best effort: a store that does not abort (or is down) keeps the parts
  // until its lifecycle rule for incomplete uploads removes them.
  (void)tier_->client().Send(
      {.method = "DELETE", .key = key_, .query = {{"uploadId", upload_id_}}});
}

absl::Status S3Writer::Append(absl::string_view data) {
  if (committed_) return absl::FailedPreconditionError("append after commit");
  RETURN_IF_ERROR(status_);
  const uint64_t part = tier_->client().options().part_bytes;
  size_ += data.size();
  while (!data.empty()) {
    if (buffer_.size() == part) {
      // Only a full part with more behind it goes out here: the last part
      // waits for Commit, so an object of exactly one part is one PUT.
      RETURN_IF_ERROR(SendPartInBackground());
    }
    size_t take = std::min<size_t>(data.size(), part - buffer_.size());
    buffer_.append(data.data(), take);
    data.remove_prefix(take);
  }
  return absl::OkStatus();
}

absl::Status S3Writer::StartUpload() {
  S3Request init{
      .method = "POST", .key = key_, .query = {{"uploads", ""}}, .headers = tier_->ObjectHeaders()};
  ASSIGN_OR_RETURN(S3Response r, tier_->client().Send(init));
  if (r.status != 200) return Fail(S3Error(r, absl::StrCat("start upload of ", key_)));
  upload_id_ = XmlFirstText(r.body, "UploadId");
  if (upload_id_.empty()) return Fail(absl::DataLossError("no UploadId in the store's reply"));
  return absl::OkStatus();
}

absl::Status S3Writer::PutPart(size_t number, absl::string_view part, std::string* etag) {
  S3Request put{.method = "PUT",
                .key = key_,
                .query = {{"partNumber", absl::StrCat(number)}, {"uploadId", upload_id_}},
                .body = part};
  const Md5Sum md5 = Md5Of(part);
  put.headers["content-md5"] = md5.base64;
  ASSIGN_OR_RETURN(S3Response r, tier_->client().Send(put, EtagIs(md5.hex)));
  if (r.status != 200) return S3Error(r, absl::StrCat("upload a part of ", key_));
  auto it = r.headers.find("etag");
  *etag = it != r.headers.end() ? it->second : absl::StrCat("\"", md5.hex, "\"");
  return absl::OkStatus();
}

absl::Status S3Writer::WaitForPartInFlight() {
  if (in_flight_.joinable()) in_flight_.join();
  if (!in_flight_status_.ok()) Fail(in_flight_status_);
  return status_;
}

absl::Status S3Writer::SendPartInBackground() {
  RETURN_IF_ERROR(WaitForPartInFlight());
  if (upload_id_.empty()) RETURN_IF_ERROR(StartUpload());
  // etags_ grows only here and in Commit, each time after the part in
  // flight is done, so the slot stays put while the thread fills it.
  etags_.emplace_back();
  in_flight_part_.swap(buffer_);
  buffer_.clear();
  buffer_.reserve(in_flight_part_.size());
  in_flight_ = std::thread([this, number = etags_.size()] {
    in_flight_status_ = PutPart(number, in_flight_part_, &etags_[number - 1]);
  });
  return absl::OkStatus();
}

absl::Status S3Writer::Commit() {
  if (committed_) return absl::FailedPreconditionError("commit called twice");
  RETURN_IF_ERROR(status_);
  RETURN_IF_ERROR(WaitForPartInFlight());
  committed_ = true;
  if (upload_id_.empty()) return Fail(tier_->PutWhole(key_, buffer_));
  if (!buffer_.empty()) {
    etags_.emplace_back();
    RETURN_IF_ERROR(Fail(PutPart(etags_.size(), buffer_, &etags_.back())));
  }
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags_.size(); ++i) {
    absl::StrAppend(&xml, "<Part><PartNumber>", i + 1, "</PartNumber><ETag>", XmlEscape(etags_[i]),
                    "</ETag></Part>");
  }
  absl::StrAppend(&xml, "</CompleteMultipartUpload>");
  S3Request complete{.method = "POST",
                     .key = key_,
                     .query = {{"uploadId", upload_id_}},
                     .headers = {{"content-md5", Md5Of(xml).base64}},
                     .body = xml};
  // S3 may answer 200 and still fail: the error is then in the body.
  absl::StatusOr<S3Response> r = tier_->client().Send(complete, [](const S3Response& r) {
    return absl::StrContains(r.body, "<Error>")
               ? absl::UnavailableError(absl::StrCat("completing the upload failed: ",
                                                     XmlFirstText(r.body, "Message")))
               : absl::OkStatus();
  });
  if (!r.ok()) return Fail(r.status());
  if (r->status == 404) {
    // NoSuchUpload after a retry: an earlier attempt completed it and its
    // answer was lost. The object then has exactly our size.
    absl::StatusOr<S3Response> h = tier_->client().Send({.method = "HEAD", .key = key_});
    if (h.ok() && h->status == 200 && h->headers["content-length"] == absl::StrCat(size_)) {
      return absl::OkStatus();
    }
  }
  if (r->status != 200) return Fail(S3Error(*r, absl::StrCat("complete upload of ", key_)));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tier>> OpenS3Tier(const std::string& name, S3TierOptions options) {
  auto field = [&name](absl::string_view f, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("tier ", name, ": s3.", f, " ", why));
  };
  if (!absl::StartsWith(options.endpoint, "http://") &&
      !absl::StartsWith(options.endpoint, "https://")) {
    return field("endpoint", "must start with http:// or https://");
  }
  if (options.bucket.empty()) return field("bucket", "must be set");
  if (options.region.empty()) return field("region", "must be set");
  if (options.access_key_id.empty() || options.secret_access_key.empty()) {
    return field("access_key_id",
                 "and secret_access_key must be set (in the config or AWS_ACCESS_KEY_ID and "
                 "AWS_SECRET_ACCESS_KEY)");
  }
  if (!options.prefix.empty() && options.prefix.back() != '/') {
    return field("prefix", "must end with '/'");
  }
  if (options.part_bytes < (64u << 10) || options.part_bytes > (5ull << 30)) {
    return field("part_bytes", "must be between 64 KiB and 5 GiB");
  }
  return std::unique_ptr<Tier>(new S3Tier(name, std::move(options)));
}

}  // namespace cairn
