import type { RouteObject } from 'react-router';
import { ApplicationDetail } from './ApplicationDetail';
import { Applications } from './Applications';
import { KeyedById } from './common';
import { RadiusDetail } from './RadiusDetail';
import { RadiusServers } from './RadiusServers';
import './resources.css';

export const applicationRoutes: RouteObject[] = [
  { path: 'applications', element: <Applications /> },
  { path: 'applications/:id', element: <KeyedById page={ApplicationDetail} /> },
];

export const radiusRoutes: RouteObject[] = [
  { path: 'radius', element: <RadiusServers /> },
  { path: 'radius/:id', element: <KeyedById page={RadiusDetail} /> },
];
