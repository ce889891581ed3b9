// Finding a checkpoint's predecessor on disk (agent/delta_base.h): numbered
// step directories and numbered file names, shards whose names carry other
// numbers, gaps in the numbering, nothing lower; and a predecessor is used
// only when its tensors match the new file's (a header of another length is
// fine, a reshaped tensor is not).
#include "agent/delta_base.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/tensor_data.h"
#include "tests/test_dir.h"

namespace cairn {
namespace {

void Put(const std::string& path, const std::string& data) {
  ASSERT_TRUE(MakeDirectories(DirName(path)).ok()) << path;
  absl::StatusOr<UniqueFd> fd = OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ASSERT_TRUE(WriteFully(fd->get(), data, path).ok());
}

TEST(PredecessorPathTest, TheNearestLowerStepDirectoryHoldingTheSamePath) {
  const std::string d = NewTempDir("pred");
  Put(d + "/ckpt/step-100/model.safetensors", "x");
  Put(d + "/ckpt/step-900/model.safetensors", "x");
  Put(d + "/ckpt/step-1000/optim.pt", "x");  // other file only
  Put(d + "/ckpt/step-1100/model.safetensors", "x");
  Put(d + "/ckpt/step-1100/optim.pt", "x");
  Put(d + "/ckpt/run-1000/model.safetensors", "x");  // other prefix
  EXPECT_EQ(PredecessorPath(d + "/ckpt/step-1100/model.safetensors"),
            d + "/ckpt/step-900/model.safetensors")
      << "numbers compare as numbers, and step-1000 has no model";
  EXPECT_EQ(PredecessorPath(d + "/ckpt/step-1100/optim.pt"), d + "/ckpt/step-1000/optim.pt");
  EXPECT_EQ(PredecessorPath(d + "/ckpt/step-100/model.safetensors"), std::nullopt);
}

TEST(PredecessorPathTest, NumberedFileNamesAndShards) {
  const std::string d = NewTempDir("pred");
  Put(d + "/out/model-000200.safetensors", "x");
  Put(d + "/out/model-000300.safetensors", "x");
  EXPECT_EQ(PredecessorPath(d + "/out/model-000300.safetensors"),
            d + "/out/model-000200.safetensors");
  // Shards: the shard numbers are not steps; the step directory is.
  for (const char* step : {"global_step10", "global_step20"}) {
    for (int shard = 1; shard <= 2; ++shard) {
      Put(absl::StrCat(d, "/ck/", step, "/model-0000", shard, "-of-00002.safetensors"), "x");
    }
  }
  EXPECT_EQ(PredecessorPath(d + "/ck/global_step20/model-00002-of-00002.safetensors"),
            d + "/ck/global_step10/model-00002-of-00002.safetensors");
  EXPECT_EQ(PredecessorPath(d + "/ck/global_step10/model-00002-of-00002.safetensors"),
            std::nullopt);
  EXPECT_EQ(PredecessorPath("relative/step-2/x"), std::nullopt);
}

std::map<std::string, std::string> Model(uint32_t seed, size_t scale = 1) {
  return {{"a.weight", Bf16Normal((64 << 10) * scale, seed)},
          {"b.weight", Bf16Normal(96 << 10, seed + 1)}};
}

absl::StatusOr<FileProbe> Probe(const std::string& path) {
  absl::StatusOr<UniqueFd> fd = OpenFile(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  struct stat st;
  fstat(fd->get(), &st);
  return ProbeFile(fd->get(), static_cast<uint64_t>(st.st_size), path);
}

TEST(DeltaSourceTest, ReadsTheSameTensorOfTheMatchingPredecessor) {
  const std::string d = NewTempDir("delta_source");
  std::map<std::string, std::string> old_model = Model(1);
  // The new header names the step: longer, so every tensor sits elsewhere.
  Put(d + "/step-1/model.safetensors", Bf16Safetensors(old_model));
  std::map<std::string, std::string> new_model = Model(3);
  Put(d + "/step-2/model.safetensors", Bf16Safetensors(new_model, "2"));
  absl::StatusOr<FileProbe> probe = Probe(d + "/step-2/model.safetensors");
  ASSERT_TRUE(probe.ok()) << probe.status();
  ASSERT_FALSE(probe->regions.empty());
  std::optional<DeltaSource> source = DeltaSource::Open(d + "/step-2/model.safetensors", *probe);
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(source->path(), d + "/step-1/model.safetensors");
  // Every tensor region reads back the old tensor's bytes.
  int tensors = 0;
  for (size_t i = 0; i < probe->regions.size(); ++i) {
    if (probe->regions[i].type == ElementType::kNone) continue;
    const std::string& want = tensors == 0 ? old_model["a.weight"] : old_model["b.weight"];
    std::string base;
    ASSERT_TRUE(source->ReadBase(i, 0, probe->regions[i].length, &base).ok());
    EXPECT_EQ(base, want) << "region " << i;
    std::string part;
    ASSERT_TRUE(source->ReadBase(i, 100, 50, &part).ok());
    EXPECT_EQ(part, want.substr(100, 50));
    EXPECT_FALSE(source->ReadBase(i, 1, probe->regions[i].length, &part).ok()) << "past the end";
    ++tensors;
  }
  EXPECT_EQ(tensors, 2);
  EXPECT_FALSE(source->ReadBase(probe->regions.size(), 0, 1, nullptr).ok());
}

TEST(DeltaSourceTest, AReshapedModelOrAnotherFormatIsNoBase) {
  const std::string d = NewTempDir("delta_source");
  Put(d + "/step-1/model.safetensors", Bf16Safetensors(Model(1, 2)));  // a.weight twice as big
  Put(d + "/step-2/model.safetensors", Bf16Safetensors(Model(3)));
  absl::StatusOr<FileProbe> probe = Probe(d + "/step-2/model.safetensors");
  ASSERT_TRUE(probe.ok());
  EXPECT_FALSE(DeltaSource::Open(d + "/step-2/model.safetensors", *probe).has_value());
  Put(d + "/step-1/model.safetensors", std::string(300 << 10, 'x'));  // not safetensors
  EXPECT_FALSE(DeltaSource::Open(d + "/step-2/model.safetensors", *probe).has_value());
  // No layout at all: nothing to match.
  EXPECT_FALSE(DeltaSource::Open(d + "/step-2/model.safetensors", FileProbe{}).has_value());
}

}  // namespace
}  // namespace cairn
