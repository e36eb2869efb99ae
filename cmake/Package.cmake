# `cpack -G DEB` in the build folder: a Debian package of what cmake/Install.cmake installs,
# under /usr. Its dependencies (Debian's LibTorch, Boost, spdlog, libcurl, ...) are read from the
# binary and the torch plugin by dpkg-shlibdeps, so they match what this build linked.
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "maskfill")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "maskfill")
set(CPACK_PACKAGE_CONTACT "maskfill developers <maskfill@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Code completion and edits from a block-diffusion model, as a language server")
set(CPACK_PACKAGE_DESCRIPTION
  "maskfill finds the span to fill or rewrite with tree-sitter, masks it and lets a block-diffusion\n"
  "code model (Stable-DiffCoder, or the bundled small model) denoise it. It serves inline\n"
  "completion, fill-in-the-middle and instruction edits to editors over LSP (maskfill lsp) and\n"
  "an OpenAI-compatible API (maskfill serve). Includes the Neovim plugin (a start package) and\n"
  "the VS Code extension (/usr/share/maskfill/vscode/maskfill.vsix).")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "devel")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "neovim | code")
set(CPACK_STRIP_FILES ON)  # the debug info of a RelWithDebInfo build is most of the binary
include(CPack)
