// docs/validation.md is generated (`moesim validate --out docs/validation.md`), never typed:
// this fails when a change to the models or presets moves a number without regenerating it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "io/validation.hpp"

namespace moesim::io {
namespace {

TEST(ValidationDoc, CommittedFileEqualsTheGeneratedOne) {
  std::ifstream f(std::string(MOESIM_SOURCE_DIR) + "/docs/validation.md");
  ASSERT_TRUE(f) << "docs/validation.md is missing";
  std::ostringstream committed;
  committed << f.rdbuf();
  EXPECT_TRUE(committed.str() == render_validation_markdown())
      << "docs/validation.md is stale: run `moesim validate --out docs/validation.md`";
}

}  // namespace
}  // namespace moesim::io
