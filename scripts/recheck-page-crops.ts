/**
 * The leak check by place (pipeline/page/locate.ts) on a crop set made before it existed: the committed
 * data/page-crops-200010454 was cut and checked by correlation alone (2026-12-05). Its pages are searched
 * for real-sample images, every crop covering much of where one lies is dropped, and the set is written
 * again in place; then remake the pseudo-label set made from it (`make pseudo-label`).
 * Run: npx tsx scripts/recheck-page-crops.ts [crop set, default data/page-crops-200010454] [pages it was cut from]
 */
import { recheckCrops } from '../pipeline/page/crops';

recheckCrops({ data: process.argv[2] ?? 'data/page-crops-200010454', pages: process.argv[3] ?? '../shared/data/pages-200010454' }).catch((e) => {
  console.error(e);
  process.exit(1);
});
