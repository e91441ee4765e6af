/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * vec.h - the one growable array: a pointer, a capacity and a count the
 * caller keeps, grown by doubling so appends stay amortized O(1).
 *
 *	struct item *items = NULL; size_t nr = 0, cap = 0;
 *	if (VEC_RESERVE(items, cap, nr + 1)) return -ENOMEM;
 *	items[nr++] = x;
 *
 * On failure the array and its capacity are unchanged (still the caller's
 * to free). A zero-capacity array starts at 16 elements.
 */
#ifndef HEAPTRACE_VEC_H
#define HEAPTRACE_VEC_H

#include <stddef.h>

/* Room for `need` elements of `elem` bytes in *arr. Returns 0 or -ENOMEM. */
int vec__reserve(void **arr, size_t *cap, size_t need, size_t elem);

/*
 * Through a real void *: writing a T * via a (void **) cast breaks strict
 * aliasing. The common case, room already there, is decided inline: appends
 * sit on hot paths (a dump adds millions of locations).
 */
#define VEC_RESERVE(arr, cap, need)                                                                \
	({                                                                                         \
		int vec_err_ = 0;                                                                  \
		if ((need) > (cap)) {                                                              \
			void *vec_p_ = (arr);                                                      \
			vec_err_ = vec__reserve(&vec_p_, &(cap), (need), sizeof(*(arr)));          \
			if (!vec_err_)                                                             \
				(arr) = vec_p_;                                                    \
		}                                                                                  \
		vec_err_;                                                                          \
	})

#endif /* HEAPTRACE_VEC_H */
