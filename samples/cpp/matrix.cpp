// A small dense matrix (self-written sample, MIT licence).
#include <cstddef>
#include <stdexcept>
#include <vector>

class Matrix {
 public:
  Matrix(std::size_t rows, std::size_t cols) : rows_(rows), cols_(cols), data_(rows * cols, 0.0) {}

  double& at(std::size_t r, std::size_t c) { return data_[r * cols_ + c]; }
  double at(std::size_t r, std::size_t c) const { return data_[r * cols_ + c]; }
  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }

  Matrix operator*(const Matrix& other) const {
    if (cols_ != other.rows_) throw std::invalid_argument("shape mismatch");
    Matrix out(rows_, other.cols_);
    for (std::size_t i = 0; i < rows_; ++i)
      for (std::size_t k = 0; k < cols_; ++k)
        for (std::size_t j = 0; j < other.cols_; ++j) out.at(i, j) += at(i, k) * other.at(k, j);
    return out;
  }

  Matrix transposed() const {
    Matrix out(cols_, rows_);
    for (std::size_t i = 0; i < rows_; ++i)
      for (std::size_t j = 0; j < cols_; ++j) out.at(j, i) = at(i, j);
    return out;
  }

  static Matrix identity(std::size_t n) {
    Matrix out(n, n);
    for (std::size_t i = 0; i < n; ++i) out.at(i, i) = 1.0;
    return out;
  }

 private:
  std::size_t rows_, cols_;
  std::vector<double> data_;
};
