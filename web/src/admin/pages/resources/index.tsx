import { useParams, type RouteObject } from 'react-router';
import { ApplicationDetail } from './ApplicationDetail';
import { Applications } from './Applications';
import { RadiusDetail } from './RadiusDetail';
import { RadiusServers } from './RadiusServers';
import './resources.css';

/** Detail pages start afresh for another object (forms hold the state of the one they were opened for). */
function KeyedApplication() {
  const { id } = useParams();
  return <ApplicationDetail key={id} />;
}

function KeyedRadius() {
  const { id } = useParams();
  return <RadiusDetail key={id} />;
}

export const applicationRoutes: RouteObject[] = [
  { path: 'applications', element: <Applications /> },
  { path: 'applications/:id', element: <KeyedApplication /> },
];

export const radiusRoutes: RouteObject[] = [
  { path: 'radius', element: <RadiusServers /> },
  { path: 'radius/:id', element: <KeyedRadius /> },
];
