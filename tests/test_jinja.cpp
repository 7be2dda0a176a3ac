#include <gtest/gtest.h>
TEST(JinjaPlaceholder, X) {}
