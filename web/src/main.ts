// The console's entry point: reads the server's configuration, wires the banners, starts the router.

import { initBanners } from './banners';
import { readConfig } from './config';
import { startRouter } from './router';

initBanners();
startRouter(readConfig());
