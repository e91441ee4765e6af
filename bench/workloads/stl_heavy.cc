// An allocation-heavy compile for bench/run.sh's "compile" part: many
// standard containers and algorithms instantiated over several types, so
// that cc1plus at -O2 spends seconds building and dropping trees.
#include <algorithm>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

template <typename K, typename V> struct bundle {
	std::map<K, V> m;
	std::unordered_map<K, std::vector<V>> u;
	std::set<std::tuple<K, V>> s;
	std::deque<std::pair<K, V>> d;
	std::list<std::variant<K, V, std::string>> l;

	void fill(int n)
	{
		for (int i = 0; i < n; i++) {
			K k = static_cast<K>(i);
			V v = static_cast<V>(i * 3);
			m[k] = v;
			u[k].push_back(v);
			s.insert({ k, v });
			d.emplace_back(k, v);
			l.emplace_back(v);
		}
	}
	std::string dump() const
	{
		std::ostringstream os;
		for (auto &kv : m)
			os << kv.first << '=' << kv.second << ';';
		std::vector<std::pair<K, V>> sorted(d.begin(), d.end());
		std::sort(sorted.begin(), sorted.end(),
			  [](auto &a, auto &b) { return std::get<1>(a) > std::get<1>(b); });
		os << std::accumulate(sorted.begin(), sorted.end(), V{},
				      [](V acc, auto &p) { return acc + p.second; });
		return os.str();
	}
};

#define BUNDLE(K, V, N)                                                                            \
	std::string run_##N(int n)                                                                 \
	{                                                                                          \
		bundle<K, V> b;                                                                    \
		b.fill(n);                                                                         \
		std::regex re("([0-9]+)=([0-9]+)");                                                \
		std::string out = b.dump();                                                        \
		return std::regex_replace(out, re, "$2:$1");                                       \
	}

BUNDLE(int, long, 1)
BUNDLE(long, int, 2)
BUNDLE(short, double, 3)
BUNDLE(unsigned, float, 4)

int main()
{
	std::function<std::string(int)> fs[] = { run_1, run_2, run_3, run_4 };
	size_t total = 0;
	for (auto &f : fs)
		total += f(100).size();
	return total == 0;
}
