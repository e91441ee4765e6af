// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
//
// count_colour PNG RRGGBB...: how many pixels of the PNG are within a small
// distance of each colour (anti-aliased edges count when close), one count
// a line, for the HTML report test.
package main

import (
	"fmt"
	"image/png"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: count_colour PNG RRGGBB...")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	img, err := png.Decode(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, os.Args[1], err)
		os.Exit(1)
	}
	b := img.Bounds()
	for _, hex := range os.Args[2:] {
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad colour", hex)
			os.Exit(2)
		}
		want := [3]int{int(v >> 16), int(v >> 8 & 0xff), int(v & 0xff)}
		n := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				got := [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}
				d := 0
				for i := range got {
					if got[i] > want[i] {
						d += got[i] - want[i]
					} else {
						d += want[i] - got[i]
					}
				}
				if d <= 30 {
					n++
				}
			}
		}
		fmt.Println(n)
	}
}
