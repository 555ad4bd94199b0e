// LETHE_HD marks the math of kernels/common as __host__ __device__ under nvcc and as an ordinary
// function elsewhere (the CPU backends and the SIMT emulator's g++ build), so one definition
// serves every backend.
#pragma once

#ifndef LETHE_HD
#if defined(__CUDACC__)
#define LETHE_HD __host__ __device__
#else
#define LETHE_HD
#endif
#endif
