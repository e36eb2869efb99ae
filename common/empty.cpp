// Keeps libraries whose folders are still empty valid CMake targets.
